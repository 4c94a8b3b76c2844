"""What happens when a shopper follows a link from a message: a click back to the cart, or an unsubscribe."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.checkouts.models import TERMINAL, Checkout, ConsentEvent, Contact
from app.config import get_settings
from app.core import events
from app.core.logging import ctx
from app.core.scheduling import dispatch_soon
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery import links
from app.recovery.discounts import Incentive
from app.recovery.flows import ordered_steps
from app.recovery.models import Click, DiscountCode, DiscountKind, Enrollment
from app.recovery.sending import idempotency_key
from app.stores.models import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Landing:
    url: str | None
    """None: unknown or expired link; `store_url` is where the friendly page points."""
    store_url: str | None
    expired: bool = False


async def follow(token: str, user_agent: str | None, chat: bool = False) -> Landing:
    """Record the click, then send the shopper to their own checkout with the code applied
    (and, from a chat link, with the store's chat opening on this shopper's thread)."""
    parsed = links.read_magic_token(token)
    enrollment = await Enrollment.get_or_none(id=parsed[0]) if parsed else None
    if parsed is None or enrollment is None:
        return Landing(None, None)
    store = await Store.get(id=enrollment.store_id)
    ttl = timedelta(days=get_settings().recovery.link_ttl_days)
    now = utcnow()
    if enrollment.enrolled_at + ttl < now:
        return Landing(None, f"https://{store.domain}", expired=True)
    step = parsed[1]
    checkout = (
        await Checkout.get_or_none(id=enrollment.checkout_id) if enrollment.checkout_id else None
    )
    message = await Message.get_or_none(idempotency_key=idempotency_key(enrollment.id, step))
    async with in_transaction() as conn:
        click = await Click.create(
            store=store,
            enrollment=enrollment,
            message=message,
            checkout=checkout,
            clicked_at=now,
            user_agent=(user_agent or "")[:512] or None,
            using_db=conn,
        )
        event_id = await events.record(
            events.LINK_CLICKED,
            store.id,
            click.id,
            {
                "checkout_id": checkout.id if checkout else None,
                "message_id": message.id if message else None,
            },
            using=conn,
        )
    await dispatch_soon(event_id)
    contact_id = checkout.contact_id if checkout else enrollment.contact_id
    opened = _chat_opener(store.id, contact_id if chat else None)
    if checkout is not None and checkout.status in TERMINAL:  # bought: the recover page confuses
        return Landing(opened(f"https://{store.domain}/"), f"https://{store.domain}")
    utm = {
        "utm_source": "followup",
        "utm_medium": str(message.channel) if message else "link",
        "utm_campaign": "cart_recovery" if checkout else _campaign(enrollment.trigger),
        "utm_content": f"step{step + 1}"
        + (f"-{message.variant}" if message and message.variant else ""),
    }
    code = await _code(enrollment, step, checkout.total if checkout else Decimal(0))
    # A flow with no cart lands on the store's home page: always the store's own site.
    target = (
        links.own_site_url(store, checkout.recovery_url, checkout.id)
        if checkout
        else f"https://{store.domain}/"
    )
    url = opened(links.landing_url(str(store.platform), store.domain, target, code, utm))
    return Landing(links.store_landing(store, url), f"https://{store.domain}")


def _campaign(trigger: str) -> str:
    """utm_campaign of a flow without a cart: its trigger, e.g. `contact_birthday`."""
    return trigger.replace(".", "_")


def _chat_opener(store_id: int, contact_id: int | None) -> Callable[[str], str]:
    """Adds the signed chat token to a landing on the store's own site (never anywhere else)."""
    if contact_id is None:
        return lambda url: url
    return lambda url: links.with_chat(url, store_id, contact_id)


async def _code(enrollment: Enrollment, step: int, total: Decimal) -> str | None:
    # A code reserved for Shopify or WooCommerce that the platform never confirmed is not applied.
    issued = (
        await DiscountCode.filter(enrollment_id=enrollment.id)
        .filter(Q(provider_id__isnull=False) | Q(kind__in=[DiscountKind.POOL, DiscountKind.STATIC]))
        .order_by("-id")
        .first()
    )
    if issued:
        return issued.code
    for flow_step in (await ordered_steps(enrollment.flow_id, enrollment.abandoned_at))[: step + 1]:
        if flow_step.incentive:
            spec = Incentive.parse(flow_step.incentive)
            if spec.code and total >= spec.min_total:
                return spec.code
    return None


@dataclass(frozen=True, slots=True)
class Unsubscribe:
    contact: Contact | None
    store: Store | None
    changed: bool = False
    event_id: int | None = None


async def lookup(token: str) -> Unsubscribe:
    contact_id = links.read_unsubscribe_token(token)
    contact = await Contact.get_or_none(id=contact_id) if contact_id else None
    store = await Store.get(id=contact.store_id) if contact else None
    return Unsubscribe(contact, store)


async def unsubscribe(token: str, source: str) -> Unsubscribe:
    """One click, no login, effective at once: the next send sees it under its row lock."""
    found = await lookup(token)
    if found.contact is None:
        return found
    contact, now = found.contact, utcnow()
    async with in_transaction() as conn:
        won = (
            await Contact.filter(id=contact.id, email_opted_out_at=None)
            .using_db(conn)
            .update(email_opted_out_at=now, email_consent=False)
        )
        if not won:
            return found
        await ConsentEvent.create(
            using_db=conn,
            store_id=contact.store_id,
            contact_id=contact.id,
            channel="email",
            action="opt_out",
            source=source,
            actor="shopper",
            occurred_at=now,
            message="unsubscribed from recovery email",
        )
        event_id = await events.record(
            events.CONTACT_OPTED_OUT,
            contact.store_id,
            contact.id,
            {"channel": "email", "source": source},
            conn,
            qualifier=f"email:{int(now.timestamp())}",
        )
    log.info(
        "email unsubscribe",
        extra=ctx(store=found.store.id if found.store else None, contact=contact.id),
    )
    return Unsubscribe(contact, found.store, True, event_id)

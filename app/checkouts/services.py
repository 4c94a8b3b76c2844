"""Checkout and order upserts, matching, and the once-only state transitions."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.checkouts import groups, rules
from app.checkouts.contacts import ContactResult, upsert_contact
from app.checkouts.models import Checkout, CheckoutStatus, Contact, Order
from app.checkouts.schemas import (
    AliasInput,
    CheckoutInput,
    ExitInput,
    IdentifyInput,
    OrderInput,
    plain,
)
from app.config import get_settings
from app.core import events
from app.core.logging import ctx
from app.core.timeutil import utcnow
from app.stores import sites
from app.stores.models import Store
from app.visitors import services as visitors

log = logging.getLogger(__name__)
LIVE = (CheckoutStatus.OPEN, CheckoutStatus.ABANDONED)


@dataclass(frozen=True, slots=True)
class Transition:
    """A state change that happened exactly once, and the outbox event announcing it."""

    checkout_id: int
    status: CheckoutStatus
    event_id: int | None


@dataclass(frozen=True, slots=True)
class RecordedOrder:
    """An order as stored, the checkout it settled (if any), and every outbox event it wrote."""

    order: Order
    transition: Transition | None
    event_ids: list[int]


def _content(data: CheckoutInput) -> dict[str, Any]:
    return {
        "external_id": data.external_id,
        "cart_token": data.cart_token,
        "line_items": [item.as_json() for item in data.line_items],
        "currency": data.currency,
        "subtotal": data.subtotal,
        "total_discounts": data.total_discounts,
        "total_shipping": data.total_shipping,
        "total_tax": data.total_tax,
        "total": data.total,
        "discount_codes": data.discount_codes,
        "recovery_url": data.recovery_url,
        "locale": data.locale,
        "address": plain(data.address),
    }


async def upsert_checkout(store: Store, data: CheckoutInput, received_at: datetime) -> Checkout:
    """Create or update a checkout; stale, out-of-order and post-purchase events change nothing."""
    return (await record_checkout(store, data, received_at))[0]


async def record_checkout(
    store: Store, data: CheckoutInput, received_at: datetime
) -> tuple[Checkout, bool]:
    """`upsert_checkout`, also saying whether this call created the row (the import counts them).

    The checkout returned is as stored: a completed or deleted one comes back in its terminal
    state with no abandon time, so no caller schedules a check for it.
    """
    data = _own_site_only(store, data)
    person = await upsert_contact(store, data.contact)
    activity = min(data.updated_at or received_at, received_at)
    checkout = await Checkout.get_or_none(store=store, token=data.token)
    created = False
    if checkout is None:
        try:
            checkout = await Checkout.create(
                store=store,
                token=data.token,
                platform=str(store.platform),
                contact=person.contact,
                email=person.email,
                phone=person.phone,
                phone_invalid_reason=person.phone_problem,
                visitor_id=data.visitor_id,
                device=data.device,
                source_created_at=data.created_at,
                source_updated_at=data.updated_at,
                last_activity_at=activity,
                **_content(data),
            )
            created = True
        except IntegrityError:  # a concurrent event for the same checkout won the insert
            pass
    if checkout is None or not created:  # found, or a concurrent insert won
        checkout = await _update(store, data, person, activity)
    if data.completed or data.deleted:
        return await _close(checkout, data, received_at), created
    checkout = await _recall_visitor(store, checkout, data, person)
    await _settle_if_ordered(store, checkout)
    return await _refresh_due(store, checkout), created


def _own_site_only(store: Store, data: CheckoutInput) -> CheckoutInput:
    """Keep a checkout URL only on the store's own site: the cart is captured either way.

    The URL is where magic links send shoppers, and a capture event's fields are shopper-supplied
    (the publishable key is public); the redirect checks again, as a store's domains can change.
    """
    url = data.recovery_url
    if url is None or sites.is_own_site(url, sites.of_store(store)):
        return data
    origin = sites.origin_of(url)
    log.warning(
        "checkout url off the store's site; not kept",
        extra=ctx(store=store.id, host=origin[1] if origin else "(unreadable)"),
    )
    return replace(data, recovery_url=None)


async def _close(checkout: Checkout, data: CheckoutInput, received_at: datetime) -> Checkout:
    """Settle or expire; the copy in hand then shows the terminal state the row now has."""
    if data.completed:
        placed_at = data.updated_at or received_at
        done = await settle(checkout.id, placed_at, None)
        won = done is not None
        if done:
            checkout.status, checkout.completed_at = done.status, placed_at
            checkout.order_external_id = None
    else:
        won = await expire(checkout.id, received_at)
        if won:
            checkout.status, checkout.expired_at = CheckoutStatus.EXPIRED, received_at
    if won:
        checkout.abandon_due_at = None
    elif checkout.status in LIVE:  # another event moved it first: read what it is now
        await checkout.refresh_from_db()
    return checkout


async def _update(
    store: Store, data: CheckoutInput, person: ContactResult, activity: datetime
) -> Checkout:
    async with in_transaction() as conn:
        checkout = (
            await Checkout.select_for_update().using_db(conn).get(store=store, token=data.token)
        )
        changed: dict[str, object] = {}
        newer = rules.may_change_content(
            checkout.status, data.updated_at, checkout.source_updated_at
        )
        if newer:
            changed |= _content(data)
            changed |= {
                "source_updated_at": data.updated_at,
                "device": data.device if data.device != "unknown" else checkout.device,
            }
            if activity > checkout.last_activity_at:
                changed["last_activity_at"] = activity
        # The address follows the newest event, as the cart does: a shopper who corrects the email
        # they typed (or paused mid-address, and "…@gmail.co" was captured) is written to at the
        # corrected one. An older event only fills in what is missing.
        for name, value in (("email", person.email), ("phone", person.phone)):
            if value and (
                not getattr(checkout, name) or (newer and getattr(checkout, name) != value)
            ):
                changed[name] = value
        if data.visitor_id and not checkout.visitor_id:
            changed["visitor_id"] = data.visitor_id
        if person.contact and (
            checkout.contact_id is None
            or (
                newer
                and changed.keys() & {"email", "phone"}
                and person.contact.id != checkout.contact_id
            )
        ):
            changed["contact_id"] = person.contact.id
        if person.phone_problem and not checkout.phone and not person.phone:
            changed["phone_invalid_reason"] = person.phone_problem
        if changed:
            await Checkout.filter(id=checkout.id).using_db(conn).update(**changed)
            await checkout.refresh_from_db(using_db=conn)
    return checkout


async def _refresh_due(store: Store, checkout: Checkout) -> Checkout:
    due = rules.abandon_due(
        checkout.status,
        checkout.reachable,
        checkout.last_activity_at,
        store.abandon_after_seconds,
        checkout.exited_at,
        rules.after_exit_seconds(store.settings),
    )
    if due != checkout.abandon_due_at:
        await Checkout.filter(id=checkout.id, status=checkout.status).update(abandon_due_at=due)
        checkout.abandon_due_at = due
    return checkout


async def record_exit(store: Store, data: ExitInput, received_at: datetime) -> Checkout | None:
    """The shopper left the checkout page: keep the latest exit (never one from the future) and
    bring the abandonment forward when the store counts from exits. Unknown carts are ignored:
    the exit may arrive before the checkout it belongs to, and then idle time decides."""
    at = min(data.exited_at or received_at, received_at)
    checkout = await Checkout.get_or_none(store=store, token=data.token)
    if checkout is None or checkout.status != CheckoutStatus.OPEN:
        return None
    if checkout.exited_at is None or at > checkout.exited_at:
        await Checkout.filter(id=checkout.id).update(exited_at=at)
        checkout.exited_at = at
    return await _refresh_due(store, checkout)


async def identify(store: Store, data: IdentifyInput) -> int:
    """Remember who the visitor is, then attach that contact to their anonymous checkouts on
    every device they signed in from; returns how many checkouts it reached."""
    person = await upsert_contact(store, data.contact)
    contact_id = person.contact.id if person.contact else None
    await visitors.remember(store.id, data.visitor_id, data.user_id, contact_id)
    if contact_id is None:  # ids only (`identify(anonymousId, userId)`): perhaps known already
        contact_id = await visitors.contact_for(store.id, data.visitor_id, data.user_id)
    return await _attach_visitors(store, contact_id, data.visitor_id, data.user_id)


async def alias(store: Store, data: AliasInput) -> int:
    """Link an earlier id to a user id; checkouts from the earlier id join the user's contact."""
    await visitors.link(store.id, data.previous_id, data.user_id)
    contact_id = await visitors.contact_for(store.id, None, data.user_id)
    return await _attach_visitors(store, contact_id, data.previous_id, data.user_id)


async def _attach_visitors(
    store: Store, contact_id: int | None, visitor_id: str | None, user_id: str | None
) -> int:
    contact = await Contact.get_or_none(id=contact_id, store=store) if contact_id else None
    if contact is None or not (contact.email or contact.phone):
        return 0
    ids = {visitor_id, *await visitors.anonymous_ids(store.id, user_id)} - {None}
    anonymous = await Checkout.filter(
        store=store, visitor_id__in=ids, status=CheckoutStatus.OPEN, email=None, phone=None
    )
    for checkout in anonymous:
        await _attach(store, checkout, contact)
    return len(anonymous)


async def _attach(store: Store, checkout: Checkout, contact: Contact) -> Checkout:
    """Give an anonymous checkout its contact, once: a concurrent event may have filled it."""
    await Checkout.filter(id=checkout.id, email=None, phone=None).update(
        contact_id=contact.id, email=contact.email, phone=contact.phone
    )
    await checkout.refresh_from_db()
    return await _refresh_due(store, checkout)


async def _recall_visitor(
    store: Store, checkout: Checkout, data: CheckoutInput, person: ContactResult
) -> Checkout:
    """Remember what this event says about the visitor; an anonymous checkout gets the contact
    the visitor was identified as. Remembering first, then looking up, means an identify
    processed at the same time is seen either here or by its own back-fill."""
    if not (data.visitor_id or data.user_id):
        return checkout
    contact_id = person.contact.id if person.contact else None
    await visitors.remember(store.id, data.visitor_id, data.user_id, contact_id)
    if checkout.reachable or checkout.status != CheckoutStatus.OPEN:
        return checkout
    known = await visitors.contact_for(store.id, data.visitor_id, data.user_id)
    contact = await Contact.get_or_none(id=known, store=store) if known else None
    if contact is None or not (contact.email or contact.phone):
        return checkout
    return await _attach(store, checkout, contact)


async def record_order(store: Store, data: OrderInput) -> RecordedOrder:
    """Store the order, announce it (the stats react to `ORDER_RECORDED`), settle its checkout."""
    person = await upsert_contact(store, data.contact)
    values = {
        "checkout_token": data.checkout_token,
        "cart_token": data.cart_token,
        "contact_id": person.contact.id if person.contact else None,
        "email": person.email,
        "phone": person.phone,
        "currency": data.currency,
        "total": data.total,
        "presentment_currency": data.presentment_currency,
        "presentment_total": data.presentment_total,
        "discount_codes": data.discount_codes,
        "financial_status": data.financial_status,
        "placed": data.placed,
        "placed_at": data.placed_at,
    }
    order, _ = await _upsert_order(store, data.external_id, values)
    recorded = [await _announce_order(store, order)]
    if not data.placed:
        return RecordedOrder(order, None, recorded)
    checkout = await match_checkout(store, order)
    if checkout is None:
        return RecordedOrder(order, None, recorded)
    if order.checkout_id != checkout.id:
        await Order.filter(id=order.id).update(checkout_id=checkout.id)
    transition = await settle(checkout.id, order.placed_at, order.external_id)
    if transition and transition.event_id:
        recorded.append(transition.event_id)
    return RecordedOrder(order, transition, recorded)


async def _announce_order(store: Store, order: Order) -> int:
    """Every recording is news (a paid update moves figures too), so each one gets its own event.

    Its own transaction: the upsert may have had to retry as an update after a conflict, which
    PostgreSQL does not allow inside one transaction; a lost event is repaired by the stats' sweep.
    """
    placed_at = order.placed_at.isoformat() if order.placed_at else None
    async with in_transaction() as conn:
        return await events.record(
            events.ORDER_RECORDED,
            store.id,
            order.id,
            {"placed_at": placed_at},
            conn,
            qualifier=uuid.uuid4().hex,
        )


async def _upsert_order(
    store: Store, external_id: str, values: dict[str, Any]
) -> tuple[Order, bool]:
    try:
        return await Order.create(store=store, external_id=external_id, **values), True
    except IntegrityError:
        await Order.filter(store=store, external_id=external_id).update(
            **{k: v for k, v in values.items() if v is not None}
        )
        return await Order.get(store=store, external_id=external_id), False


async def match_checkout(store: Store, order: Order) -> Checkout | None:
    """The matched cart, or the newer cart of the same shopper that replaced it (another device):
    the group's followed-up cart is the one an order settles, once."""
    found = await _match_checkout(store, order)
    return await groups.head(found) if found is not None and found.superseded_by_id else found


async def _match_checkout(store: Store, order: Order) -> Checkout | None:
    """Checkout token first, then cart token, then the same contact within the window."""
    if order.checkout_token:
        found = await Checkout.get_or_none(store=store, token=order.checkout_token)
        if found:
            return found
    if order.cart_token:
        found = (
            await Checkout.filter(store=store, cart_token=order.cart_token, status__in=LIVE)
            .order_by("-last_activity_at")
            .first()
        )
        if found:
            return found
    if order.contact_id is None:
        return None
    window = timedelta(hours=get_settings().capture.order_match_window_hours)
    return (
        await Checkout.filter(
            store=store,
            contact_id=order.contact_id,
            status__in=LIVE,
            last_activity_at__gte=order.placed_at - window,
            last_activity_at__lte=order.placed_at,
        )
        .order_by("-last_activity_at")
        .first()
    )


async def _settle_if_ordered(store: Store, checkout: Checkout) -> None:
    """An order that arrived before its checkout still completes it."""
    if checkout.status not in LIVE:
        return
    query = Q(checkout_token=checkout.token)
    if checkout.cart_token:
        query |= Q(cart_token=checkout.cart_token)
    order = await Order.filter(query, store=store, placed=True).order_by("placed_at").first()
    if order:
        await Order.filter(id=order.id, checkout_id=None).update(checkout_id=checkout.id)
        await settle(checkout.id, order.placed_at, order.external_id)
        await checkout.refresh_from_db()


async def settle(
    checkout_id: int, placed_at: datetime, order_external_id: str | None
) -> Transition | None:
    """Move a live checkout to recovered or completed, once, whoever calls first."""
    async with in_transaction() as conn:
        current = await Checkout.filter(id=checkout_id).using_db(conn).first()
        if current is None:
            return None
        target = rules.settled_status(current.status, current.recovery_contacted_at, placed_at)
        if target is None:
            return None
        won = (
            await Checkout.filter(id=checkout_id, status=current.status)
            .using_db(conn)
            .update(
                status=target,
                completed_at=placed_at,
                abandon_due_at=None,
                order_external_id=order_external_id,
            )
        )
        if not won:
            return None
        name = (
            events.CHECKOUT_RECOVERED
            if target == CheckoutStatus.RECOVERED
            else events.CHECKOUT_COMPLETED
        )
        event_id = await events.record(
            name,
            current.store_id,
            checkout_id,
            {"order": order_external_id, "placed_at": placed_at.isoformat()},
            conn,
        )
    log.info("checkout settled", extra=ctx(checkout=checkout_id, status=target))
    return Transition(checkout_id, target, event_id)


async def mark_abandoned(checkout_id: int, now: datetime | None = None) -> Transition | None:
    """open -> abandoned when due; the conditional update decides which worker wins."""
    now = now or utcnow()
    async with in_transaction() as conn:
        won = (
            await Checkout.filter(
                Q(email__isnull=False) | Q(phone__isnull=False),
                id=checkout_id,
                status=CheckoutStatus.OPEN,
                abandon_due_at__lte=now,
            )
            .using_db(conn)
            .update(status=CheckoutStatus.ABANDONED, abandoned_at=now, abandon_due_at=None)
        )
        if not won:
            return None
        checkout = await Checkout.get(id=checkout_id, using_db=conn)
        event_id = await events.record(
            events.CHECKOUT_ABANDONED,
            checkout.store_id,
            checkout_id,
            {"abandoned_at": now.isoformat()},
            conn,
        )
    log.info("checkout abandoned", extra=ctx(store=checkout.store_id, checkout=checkout_id))
    return Transition(checkout_id, CheckoutStatus.ABANDONED, event_id)


async def expire(checkout_id: int, now: datetime) -> bool:
    won = await Checkout.filter(id=checkout_id, status__in=LIVE).update(
        status=CheckoutStatus.EXPIRED, expired_at=now, abandon_due_at=None
    )
    return bool(won)

"""Read what the pure rules need from the database, inside the caller's transaction and locks."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.expressions import Q

from app.checkouts.models import Checkout, Contact, Order
from app.ingest import seen
from app.ingest.models import OrderSeen
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.recovery import rules
from app.recovery.models import Click, Enrollment, FlowStep, StepChannel
from app.recovery.zones import shopper_zone
from app.stores.models import Store

UNSENT = (DeliveryStatus.PENDING, DeliveryStatus.CANCELLED)


async def order_seen(store_id: int, checkout: Checkout, contact: Contact | None) -> bool:
    """Whether an order for this cart or shopper was acknowledged at capture since the shopper
    last touched the cart, processed or not: the last check before a provider is called."""
    since = checkout.last_activity_at
    keys = Q(checkout_token=checkout.token)
    if checkout.cart_token:
        keys |= Q(cart_token=checkout.cart_token, seen_at__gte=since)
    emails = {seen.email_key(e) for e in (checkout.email, contact.email if contact else None)}
    phones = {seen.phone_key(p) for p in (checkout.phone, contact.phone if contact else None)}
    for value in emails - {None}:
        keys |= Q(email_digest=value, seen_at__gte=since)
    for value in phones - {None}:
        keys |= Q(phone_digest=value, seen_at__gte=since)
    return await OrderSeen.filter(keys, store_id=store_id).exists()


def location(contact: Contact | None, checkout: Checkout) -> tuple[str | None, str | None]:
    address = checkout.address or {}
    country = (contact.country if contact else None) or address.get("country_code")
    region = (contact.region if contact else None) or address.get("province_code")
    country = country or (
        address.get("country") if len(str(address.get("country", ""))) == 2 else None
    )
    region = region or address.get("state")
    return (str(country).upper() if country else None), (str(region).upper() if region else None)


def reach(channel: str, contact: Contact | None, checkout: Checkout) -> rules.Reach:
    if channel == Channel.SMS:
        return rules.Reach(
            address=(contact.phone if contact else None) or checkout.phone,
            consent=bool(contact and contact.sms_consent),
            consent_at=contact.sms_consent_at if contact else None,
            opted_out=bool(contact and contact.sms_opted_out_at),
            undeliverable=bool(contact and contact.sms_undeliverable_at),
            held=bool(contact and contact.sms_held_at),
        )
    return rules.Reach(
        address=checkout.email or (contact.email if contact else None),
        consent=bool(contact and contact.email_consent),
        consent_at=contact.email_consent_at if contact else None,
        opted_out=bool(contact and contact.email_opted_out_at),
        undeliverable=bool(contact and contact.email_undeliverable_at),
    )


async def _cart(
    conn: Any, step: FlowStep, checkout: Checkout, contact: Contact | None, policy: rules.Policy
) -> rules.Cart:
    """Only the facts the step's conditions mention are queried: most steps need none."""
    conditions = step.conditions or {}
    returning = False
    tags: frozenset[str] = frozenset()
    if contact and conditions.get("customer"):
        returning = (
            await Order.filter(
                contact_id=contact.id, placed=True, placed_at__lt=checkout.abandoned_at
            )
            .using_db(conn)
            .exists()
        )
    if any(k.startswith("tags_") for k in conditions):
        abandonments = 1
        interacted = False
        if contact:
            abandonments = (
                await Checkout.filter(contact_id=contact.id, abandoned_at__isnull=False)
                .using_db(conn)
                .count()
            )
            interacted = (
                await Message.filter(contact_id=contact.id, direction=Direction.INBOUND)
                .using_db(conn)
                .exists()
                or await Click.filter(enrollment__contact_id=contact.id).using_db(conn).exists()
            )
        own = list(contact.tags or []) if contact else []
        tags = rules.derive_tags(own, abandonments, checkout.total, interacted, policy)
    country, _ = location(contact, checkout)
    return rules.Cart(checkout.total, checkout.device, country, returning, tags)


@dataclass
class Known:
    """The contact's history as a batch read it for all its rows at once (see history.History);
    `sms_sent` is the checkout's automated texts, read only for rows whose step may text."""

    ordered: bool
    others: int
    sms_sent: int | None = None


async def gather(
    conn: Any,
    *,
    now: datetime,
    store: Store,
    enrollment: Enrollment,
    checkout: Checkout,
    contact: Contact | None,
    step: FlowStep,
    known: Known | None = None,
    channel: str | None = None,
) -> rules.Facts:
    """The step's facts; `channel` pins an auto step to the channel its recorded attempt has.

    An auto step's facts hold both reaches; `rules.resolve` picks one of them."""
    policy = rules.policy_from_settings((store.settings or {}).get("recovery"))
    channel = channel or str(step.channel)
    auto = channel == StepChannel.AUTO
    ordered = False
    sms_sent = 0
    others = 0
    if known is not None:
        ordered, others = known.ordered, known.others
    elif contact:
        ordered = (
            await Order.filter(
                contact_id=contact.id, placed=True, placed_at__gte=enrollment.abandoned_at
            )
            .using_db(conn)
            .exists()
        )
        others = len(
            set(
                await Message.filter(
                    store_id=store.id,  # leads the (store, contact, created) index
                    contact_id=contact.id,
                    author=Author.AUTOMATION,
                    enrollment_id__not_isnull=True,
                    created_at__gte=rules.frequency_horizon(now, policy),
                )
                .exclude(enrollment_id=enrollment.id)
                .exclude(status__in=UNSENT)
                .using_db(conn)
                .values_list("enrollment_id", flat=True)
            )
        )
    started = False
    if others >= policy.max_sequences:  # only then does "this sequence already began" matter
        started = (
            await Message.filter(enrollment_id=enrollment.id)
            .exclude(status__in=UNSENT)
            .using_db(conn)
            .exists()
        )
    if known is not None and known.sms_sent is not None:
        sms_sent = known.sms_sent
    elif channel == Channel.SMS or auto:  # an auto step may text: the carrier rule counts
        sms_sent = (
            await Message.filter(
                checkout_id=checkout.id, channel=Channel.SMS, author=Author.AUTOMATION
            )
            .exclude(status__in=UNSENT)
            .using_db(conn)
            .count()
        )
    country, region = location(contact, checkout)
    target = reach(Channel.EMAIL if auto else channel, contact, checkout)
    texting = reach(Channel.SMS, contact, checkout)
    return rules.Facts(
        now=now,
        channel=channel,
        conditions=step.conditions or {},
        store_active=store.is_active,
        ordered_since_abandonment=ordered,
        abandoned_at=enrollment.abandoned_at,
        reach=target,
        cart=await _cart(conn, step, checkout, contact, policy),
        automated_sms_sent=sms_sent,
        sequence_started=started,
        other_sequences_in_window=others,
        zone=shopper_zone(
            texting.address
            if channel == Channel.SMS or auto
            else (contact.phone if contact else None),
            country,
            region,
            contact.timezone if contact else None,
            store.timezone,
        )
        if channel == Channel.SMS or auto or policy.email_quiet_hours
        else "UTC",
        window=rules.window_for(policy, country, region),
        policy=policy,
        checkout_status=str(checkout.status),
        sms_reach=texting if auto else None,
        store_can_text=bool(store.sms_number),
    )

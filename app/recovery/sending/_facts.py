"""What the pure rules need, read inside the claim's transaction and under its locks.

A claim reads its rows' contact history once for all of them (`History`: orders since the
abandonment, other sequences inside the frequency window, the checkout's automated texts for the
carrier rule), then `gather` turns each row into `rules.Facts`. Sends the claim itself records are
added as it goes, so a shopper with two carts in one claim still gets one sequence.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from tortoise.expressions import Q

from app.checkouts import rules as checkout_rules
from app.checkouts.models import Checkout, Contact, Order
from app.ingest import seen
from app.ingest.models import OrderSeen
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.recovery import flows, rules, triggers
from app.recovery.models import Click, Enrollment, FlowStep, StepChannel
from app.recovery.segments import services as segments
from app.recovery.zones import location, shopper_zone
from app.scoring import priors as scoring
from app.scoring import rules as scoring_rules
from app.stores.models import Store

UNSENT = (DeliveryStatus.PENDING, DeliveryStatus.CANCELLED)


@dataclass(frozen=True)
class _CartKeys:
    """What an order acknowledged at capture must share with a cart to stop its send."""

    store_id: int
    token: str
    cart_token: str | None
    since: (
        datetime  # the shopper's last touch of the cart: only newer orders count by the keys below
    )
    emails: frozenset[str]
    phones: frozenset[str]

    @classmethod
    def of(cls, store_id: int, checkout: Checkout, contact: Contact | None) -> _CartKeys:
        emails = {seen.email_key(e) for e in (checkout.email, contact.email if contact else None)}
        phones = {seen.phone_key(p) for p in (checkout.phone, contact.phone if contact else None)}
        return cls(
            store_id,
            checkout.token,
            checkout.cart_token or None,
            checkout.last_activity_at,
            frozenset(e for e in emails if e is not None),
            frozenset(p for p in phones if p is not None),
        )

    def matches(self, row: OrderSeen) -> bool:
        if row.store_id != self.store_id:
            return False
        if row.checkout_token == self.token:
            return True
        return row.seen_at >= self.since and (
            (self.cart_token is not None and row.cart_token == self.cart_token)
            or row.email_digest in self.emails
            or row.phone_digest in self.phones
        )


async def order_seen(store_id: int, checkout: Checkout, contact: Contact | None) -> bool:
    """Whether an order for this cart or shopper was acknowledged at capture since the shopper
    last touched the cart, processed or not: the last check before a provider is called."""
    return (await orders_seen([(store_id, checkout, contact)]))[0]


async def orders_seen(carts: list[tuple[int, Checkout, Contact | None]]) -> list[bool]:
    """`order_seen` for many carts in one query (a batch's sends, just before they start): the
    rows any cart's keys match are read, then each cart keeps the ones that are its own."""
    if not carts:
        return []
    keys = [_CartKeys.of(store_id, checkout, contact) for store_id, checkout, contact in carts]
    # One small condition whatever the batch's size (a tree of one condition per cart cost more
    # to build than the query): a superset of each cart's rows, by index, sorted out below.
    later = [Q(cart_token__in=sorted({k.cart_token for k in keys if k.cart_token}))]
    later.append(Q(email_digest__in=sorted({e for k in keys for e in k.emails})))
    later.append(Q(phone_digest__in=sorted({p for k in keys for p in k.phones})))
    wanted = Q(
        Q(checkout_token__in=sorted({k.token for k in keys}))
        | Q(Q(*later, join_type="OR"), seen_at__gte=min(k.since for k in keys)),
        store_id__in=sorted({k.store_id for k in keys}),
    )
    found = await OrderSeen.filter(wanted).only(
        "id", "store_id", "checkout_token", "cart_token", "email_digest", "phone_digest", "seen_at"
    )
    return [any(k.matches(row) for row in found) for k in keys]


def reach(channel: str, contact: Contact | None, checkout: Checkout | None) -> rules.Reach:
    if channel == Channel.SMS:
        return rules.Reach(
            address=(contact.phone if contact else None) or (checkout.phone if checkout else None),
            consent=bool(contact and contact.sms_consent),
            consent_at=contact.sms_consent_at if contact else None,
            opted_out=bool(contact and contact.sms_opted_out_at),
            undeliverable=bool(contact and contact.sms_undeliverable_at),
            held=bool(contact and contact.sms_held_at),
        )
    return rules.Reach(
        address=(checkout.email if checkout else None) or (contact.email if contact else None),
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
        tags = await _tags(conn, checkout, contact, policy)
    country, _ = location(contact, checkout)
    score, value = await _score(checkout, conditions)
    return rules.Cart(checkout.total, checkout.device, country, returning, tags, score, value)


async def _no_cart(
    conn: Any, step: FlowStep, enrollment: Enrollment, contact: Contact | None, order: Order | None
) -> rules.Cart:
    """A flow with no cart: its total is the pending order's (else zero), its tags the contact's
    own; `customer` asks whether they had ordered before the entry."""
    conditions = step.conditions or {}
    returning = False
    if contact and conditions.get("customer"):
        returning = (
            await Order.filter(
                contact_id=contact.id, placed=True, placed_at__lt=enrollment.abandoned_at
            )
            .using_db(conn)
            .exists()
        )
    country, _ = location(contact, None)
    tags = frozenset(str(t).lower() for t in (contact.tags or [])) if contact else frozenset()
    total = order.total if order else Decimal(0)
    return rules.Cart(total, "unknown", country, returning, tags)


async def _score(checkout: Checkout, conditions: dict[str, Any]) -> tuple[Decimal, Decimal]:
    """The checkout's predicted recovery score and expected value; an unscored checkout (scoring
    failed or has not run) reads as the store's prior, so a missing score never blocks a send."""
    if not any(k in conditions for k in rules.SCORE_KEYS):
        return Decimal(0), Decimal(0)
    if checkout.recovery_score is not None and checkout.expected_value is not None:
        return checkout.recovery_score, checkout.expected_value
    prior = await scoring.prior_for(checkout.store_id)
    return prior, scoring_rules.expected_value(prior, checkout.total, checkout.currency)


async def _tags(
    conn: Any, checkout: Checkout, contact: Contact | None, policy: rules.Policy
) -> frozenset[str]:
    """The contact's own tags and the derived ones (repeat abandoner, engaged, cart value)."""
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
    return rules.derive_tags(own, abandonments, checkout.total, interacted, policy)


@dataclass
class Known:
    """A row's contact history as `History` read it; `sms_sent` is the checkout's automated
    texts, read only for rows whose step may text (None: `gather` counts them if it must)."""

    ordered: bool
    others: int
    sms_sent: int | None = None


async def gather(
    conn: Any,
    *,
    now: datetime,
    store: Store,
    enrollment: Enrollment,
    checkout: Checkout | None,
    contact: Contact | None,
    step: FlowStep,
    known: Known,
    channel: str | None = None,
    order: Order | None = None,
) -> rules.Facts:
    """The step's facts; `channel` pins an auto step to the channel its recorded attempt has.

    An auto step's facts hold both reaches; `rules.resolve` picks one of them. A flow whose
    trigger is not an abandoned checkout has no checkout: its stop rules read the trigger's
    (`order` is a payment reminder's order, read under the claim)."""
    policy = rules.policy_from_settings((store.settings or {}).get("recovery"))
    channel = channel or str(step.channel)
    auto = channel == StepChannel.AUTO
    texts = channel == Channel.SMS or auto  # an auto step may text: the carrier rule counts
    country, region = location(contact, checkout)
    texting = reach(Channel.SMS, contact, checkout)
    trigger = triggers.get(enrollment.trigger or triggers.CHECKOUT_ABANDONED)
    cart = (
        await _cart(conn, step, checkout, contact, policy)
        if checkout
        else await _no_cart(conn, step, enrollment, contact, order)
    )
    state = checkout_rules.payment_state(order.placed, order.financial_status) if order else None
    entry = await flows.entry_segment(enrollment.flow_id) if enrollment.next_step == 0 else None
    outside_entry, outside_step = await segments.verdicts(
        conn, store, contact, now, entry, step.segment_id
    )
    return rules.Facts(
        now=now,
        channel=channel,
        conditions=step.conditions or {},
        store_active=store.is_active,
        ordered_since_abandonment=known.ordered,
        abandoned_at=enrollment.abandoned_at,
        reach=reach(Channel.EMAIL if auto else channel, contact, checkout),
        cart=cart,
        automated_sms_sent=await _texts_sent(conn, checkout, known, texts) if checkout else 0,
        sequence_started=await _started(conn, enrollment, known, policy),
        other_sequences_in_window=known.others,
        zone=_zone(store, contact, texting, (country, region), texts, policy.email_quiet_hours),
        window=rules.window_for(policy, country, region),
        policy=policy,
        checkout_status=str(checkout.status) if checkout else "abandoned",
        sms_reach=texting if auto else None,
        store_can_text=bool(store.sms_number),
        cart_flow=checkout is not None,
        transactional=enrollment.transactional,
        purchase_stops=trigger.purchase_stops,
        order_state=state,
        outside_entry=outside_entry,
        outside_step=outside_step,
    )


async def _texts_sent(conn: Any, checkout: Checkout, known: Known, texts: bool) -> int:
    """The checkout's automated texts that reached a provider (one per abandonment)."""
    if known.sms_sent is not None:
        return known.sms_sent
    if not texts:
        return 0
    return (
        await Message.filter(checkout_id=checkout.id, channel=Channel.SMS, author=Author.AUTOMATION)
        .exclude(status__in=UNSENT)
        .using_db(conn)
        .count()
    )


async def _started(conn: Any, enrollment: Enrollment, known: Known, policy: rules.Policy) -> bool:
    """Whether this sequence already sent something: only read when the frequency cap is reached."""
    if known.others < policy.max_sequences:
        return False
    return (
        await Message.filter(enrollment_id=enrollment.id)
        .exclude(status__in=UNSENT)
        .using_db(conn)
        .exists()
    )


def _zone(
    store: Store,
    contact: Contact | None,
    texting: rules.Reach,
    where: tuple[str | None, str | None],
    texts: bool,
    email_quiet_hours: bool,
) -> str:
    """The shopper's clock, for quiet hours: texts always (by the number texted), emails when the
    store asks for it (by the contact's own number)."""
    if not (texts or email_quiet_hours):
        return "UTC"
    phone = texting.address if texts else (contact.phone if contact else None)
    timezone = contact.timezone if contact else None
    return shopper_zone(phone, where[0], where[1], timezone, store.timezone)


def _horizon(store: Store, now: datetime) -> datetime:
    policy = rules.policy_from_settings((store.settings or {}).get("recovery"))
    return rules.frequency_horizon(now, policy)


class History:
    def __init__(self) -> None:
        self.orders: dict[int, list[datetime]] = defaultdict(list)
        self.sends: dict[int, list[tuple[int, datetime]]] = defaultdict(list)
        self.texts: dict[int, int] = {}  # checkout id: automated texts (only checkouts read)

    @classmethod
    async def read(
        cls,
        conn: Any,
        enrollments: list[Enrollment],
        stores: list[Store],
        now: datetime,
        texting: list[int] | None = None,
    ) -> History:
        """`texting`: the checkouts whose step may text (sms or auto): only theirs are counted."""
        history = cls()
        if texting:
            history.texts = {checkout_id: 0 for checkout_id in texting}
            history.texts.update(await _texts(conn, texting))
        contacts = list({e.contact_id for e in enrollments if e.contact_id})
        if not contacts:
            return history
        since = min(e.abandoned_at for e in enrollments)
        for contact_id, placed_at in (
            await Order.filter(contact_id__in=contacts, placed=True, placed_at__gte=since)
            .using_db(conn)
            .values_list("contact_id", "placed_at")
        ):
            history.orders[contact_id].append(placed_at)
        horizon = min(_horizon(store, now) for store in stores)
        for contact_id, enrollment_id, created_at in (
            await Message.filter(
                store_id__in=[store.id for store in stores],  # leads the (store, contact) index
                contact_id__in=contacts,
                author=Author.AUTOMATION,
                enrollment_id__not_isnull=True,
                created_at__gte=horizon,
            )
            .exclude(status__in=UNSENT)
            .using_db(conn)
            .values_list("contact_id", "enrollment_id", "created_at")
        ):
            history.sends[contact_id].append((enrollment_id, created_at))
        await history._drop_transactional(conn)
        return history

    async def _drop_transactional(self, conn: Any) -> None:
        """Sends of transactional flows (payment reminders) are outside the frequency budget."""
        ids = {e for sends in self.sends.values() for e, _ in sends}
        if not ids:
            return
        outside = set(
            await Enrollment.filter(id__in=list(ids), transactional=True)
            .using_db(conn)
            .values_list("id", flat=True)
        )
        for contact_id, sends in self.sends.items():
            self.sends[contact_id] = [(e, at) for e, at in sends if e not in outside]

    def known(self, enrollment: Enrollment, store: Store, now: datetime) -> Known:
        texts = self.texts.get(enrollment.checkout_id) if enrollment.checkout_id else None
        contact_id = enrollment.contact_id
        if not contact_id:  # nobody to have ordered or been in another sequence
            return Known(ordered=False, others=0, sms_sent=texts)
        horizon = _horizon(store, now)
        others = {
            other
            for other, at in self.sends[contact_id]
            if other != enrollment.id and at >= horizon
        }
        ordered = any(at >= enrollment.abandoned_at for at in self.orders[contact_id])
        return Known(ordered=ordered, others=len(others), sms_sent=texts)

    def sent(self, enrollment: Enrollment, now: datetime, channel: str) -> None:
        contact_id = enrollment.contact_id
        if contact_id and not enrollment.transactional:
            self.sends[contact_id].append((enrollment.id, now))
        checkout_id = enrollment.checkout_id
        if channel == Channel.SMS and checkout_id in self.texts:
            self.texts[checkout_id] += 1


async def _texts(conn: Any, checkout_ids: list[int]) -> Counter[int]:
    """Automated texts per checkout that reached a provider (the carrier rule: one per abandonment)."""
    rows = (
        await Message.filter(
            checkout_id__in=checkout_ids, channel=Channel.SMS, author=Author.AUTOMATION
        )
        .exclude(status__in=UNSENT)
        .using_db(conn)
        .values("checkout_id")
    )
    return Counter(int(row["checkout_id"]) for row in rows)

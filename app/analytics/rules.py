"""Pure attribution rules: which orders FollowUp may claim, under which model, worth how much.

Every function here is pure: it takes `now`, the facts and the windows, and does no I/O. `attribution`
gathers the facts from the database and asks these rules; the tests build timelines by hand.
The models are described for merchants in `docs/attribution.md`; keep both in step.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

ZERO = Decimal(0)
EXCLUDED_FINANCIAL = frozenset({"refunded", "voided", "cancelled"})
# Email has no handset receipt: acceptance by the provider is the best delivery signal there is.
EMAIL_DELIVERED = frozenset({"sent", "queued", "delivered"})
SMS_DELIVERED = frozenset({"delivered"})


@dataclass(frozen=True, slots=True)
class Windows:
    """How long after a touch an order still counts for it (per store, `settings["attribution"]`)."""

    email: timedelta = timedelta(days=5)
    sms: timedelta = timedelta(days=1)
    click: timedelta = timedelta(days=5)
    conversion: timedelta = timedelta(days=7)
    """Holdout: an abandoned checkout converts when it is ordered within this time."""

    def for_channel(self, channel: str) -> timedelta:
        return self.sms if channel == "sms" else self.email

    @property
    def longest(self) -> timedelta:
        return max(self.email, self.sms, self.click)


def windows_from_settings(raw: Mapping[str, object] | None) -> Windows:
    """Hours in settings, clamped to 1 hour .. 90 days so a typo cannot claim a whole year."""
    raw = raw or {}
    base = Windows()

    def hours(key: str, default: timedelta) -> timedelta:
        value = raw.get(key)
        if value in (None, ""):
            return default
        return timedelta(hours=min(max(int(str(value)), 1), 90 * 24))

    return Windows(
        email=hours("email_window_hours", base.email),
        sms=hours("sms_window_hours", base.sms),
        click=hours("click_window_hours", base.click),
        conversion=hours("conversion_window_hours", base.conversion),
    )


# --- money -------------------------------------------------------------------------------------


def order_counts(placed: bool, financial_status: str | None) -> bool:
    """Cancelled, voided and refunded orders earned nobody anything: they are left out everywhere."""
    return placed and (financial_status or "").lower() not in EXCLUDED_FINANCIAL


def platform_rate(shop_total: Decimal | None, presentment_total: Decimal | None) -> Decimal | None:
    """Store-currency units per presentment unit, exactly as the platform charged the order."""
    if not shop_total or not presentment_total or presentment_total <= 0:
        return None
    return shop_total / presentment_total


def to_store_currency(
    amount: Decimal,
    currency: str,
    store_currency: str,
    rates: Mapping[str, Decimal],
) -> Decimal | None:
    """Convert with a rate the platform reported (see `platform_rate`); None when we know no rate.

    We never guess a rate: an amount we cannot convert is reported apart, not added in.
    """
    if currency.upper() == store_currency.upper():
        return amount
    rate = rates.get(currency.upper())
    return None if rate is None else amount * rate


def order_value(
    total: Decimal,
    currency: str,
    presentment_total: Decimal | None,
    presentment_currency: str | None,
    store_currency: str,
    rates: Mapping[str, Decimal],
) -> Decimal | None:
    """The order's worth in the store's currency: the shop total, or the presentment total converted."""
    if currency.upper() == store_currency.upper():
        return total
    if presentment_total is not None and presentment_currency:
        if presentment_currency.upper() == store_currency.upper():
            return presentment_total
        converted = to_store_currency(
            presentment_total, presentment_currency, store_currency, rates
        )
        if converted is not None:
            return converted
    return to_store_currency(total, currency, store_currency, rates)


# --- facts -------------------------------------------------------------------------------------


def shopper_keys(contact_id: int | None, checkout_id: int | None) -> frozenset[str]:
    """A shopper is known by their contact, else by their checkout: two rows match if any key does."""
    keys = set()
    if contact_id is not None:
        keys.add(f"contact:{contact_id}")
    if checkout_id is not None:
        keys.add(f"checkout:{checkout_id}")
    return frozenset(keys)


@dataclass(frozen=True, slots=True)
class OrderFact:
    id: int
    keys: frozenset[str]
    placed_at: datetime
    value: Decimal | None
    """In the store's currency; None when it could not be converted."""
    counts: bool = True
    codes: frozenset[str] = frozenset()
    abandoned_at: datetime | None = None
    """Of the checkout this order completed, if it was abandoned."""
    contacted_at: datetime | None = None
    """First recovery message sent for that checkout."""


@dataclass(frozen=True, slots=True)
class Touch:
    """A delivered message (channel sms or email) or a magic-link click (channel "click")."""

    keys: frozenset[str]
    channel: str
    at: datetime
    origin: Origin | None = None
    """The flow step of an automated message (or of the message a click was on)."""


@dataclass(frozen=True, slots=True, order=True)
class Origin:
    """Where an automated send came from: its flow (None once the flow is deleted), step, channel."""

    flow_id: int | None
    step_index: int
    channel: str

    @property
    def key(self) -> tuple[int, int, str]:
        return (-1 if self.flow_id is None else self.flow_id, self.step_index, self.channel)


def is_delivered(channel: str, status: str) -> bool:
    return status in (SMS_DELIVERED if channel == "sms" else EMAIL_DELIVERED)


# --- the attribution models ---------------------------------------------------------------------


def recovered(order: OrderFact) -> bool:
    """The order completes a checkout that was abandoned, and we messaged the shopper before it."""
    return (
        order.abandoned_at is not None
        and order.contacted_at is not None
        and order.abandoned_at <= order.placed_at
        and order.contacted_at < order.placed_at
    )


def within(touch_at: datetime, placed_at: datetime, window: timedelta) -> bool:
    """Touch first, order after, no later than the window: an order before the touch never counts."""
    return touch_at <= placed_at <= touch_at + window


def touched(order: OrderFact, touches: Iterable[Touch], windows: Windows) -> bool:
    for touch in touches:
        window = windows.click if touch.channel == "click" else windows.for_channel(touch.channel)
        if order.keys & touch.keys and within(touch.at, order.placed_at, window):
            return True
    return False


def by_discount(order: OrderFact, issued: Mapping[str, datetime]) -> bool:
    """The order used a code FollowUp showed (issued before the order); codes compare case-blind."""
    return any(
        (at := issued.get(code.upper())) is not None and at <= order.placed_at
        for code in order.codes
    )


@dataclass(slots=True)
class Tally:
    orders: int = 0
    revenue: Decimal = ZERO

    def add(self, value: Decimal | None) -> None:
        self.orders += 1
        self.revenue += value or ZERO


@dataclass(slots=True)
class Attribution:
    """The same period under every model, side by side; `total` is every counted order."""

    total: Tally = field(default_factory=Tally)
    recovered: Tally = field(default_factory=Tally)
    click: Tally = field(default_factory=Tally)
    message: Tally = field(default_factory=Tally)
    discount: Tally = field(default_factory=Tally)
    excluded: int = 0
    """Refunded, voided or cancelled orders in the period."""
    unconverted: int = 0
    """Counted orders whose currency had no platform rate: in counts, not in revenue."""
    recovered_ids: list[int] = field(default_factory=list)


def _index(touches: Iterable[Touch]) -> dict[str, list[Touch]]:
    index: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        for key in touch.keys:
            index[key].append(touch)
    return index


def attribute(
    now: datetime,
    orders: Iterable[OrderFact],
    touches: Iterable[Touch],
    issued: Mapping[str, datetime],
    windows: Windows,
) -> Attribution:
    """Apply every model to every order placed up to `now` (a clock-skewed future order waits)."""
    index = _index(touches)
    result = Attribution()
    for order in orders:
        if order.placed_at > now:
            continue
        if not order.counts:
            result.excluded += 1
            continue
        result.total.add(order.value)
        result.unconverted += order.value is None
        mine = [t for key in order.keys for t in index.get(key, ())]
        if recovered(order):
            result.recovered.add(order.value)
            result.recovered_ids.append(order.id)
        if touched(order, (t for t in mine if t.channel == "click"), windows):
            result.click.add(order.value)
        if touched(order, (t for t in mine if t.channel != "click"), windows):
            result.message.add(order.value)
        if by_discount(order, issued):
            result.discount.add(order.value)
    return result


def last_touch(order: OrderFact, touches: Iterable[Touch], windows: Windows) -> Touch | None:
    """The flow step a model credits an order to: the latest automated touch that the order
    counts for (the shopper's, before it, within its window). Ties go to the higher flow/step,
    so the raw figures and the rollup pick the same one."""
    best: Touch | None = None
    for touch in touches:
        if touch.origin is None or not order.keys & touch.keys:
            continue
        window = windows.click if touch.channel == "click" else windows.for_channel(touch.channel)
        if not within(touch.at, order.placed_at, window):
            continue
        if best is None or (touch.at, touch.origin.key) > (best.at, best.origin.key):  # type: ignore[union-attr]
            best = touch
    return best

"""Pure rules for checkout state: what an incoming event may change, and when a cart is abandoned."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.checkouts.models import TERMINAL, CheckoutStatus


def is_stale(incoming: datetime | None, stored: datetime | None) -> bool:
    """Older `updated_at` loses; an event without a time never overrides one with a time."""
    if stored is None:
        return False
    return incoming is None or incoming < stored


def may_change_content(
    status: CheckoutStatus, incoming: datetime | None, stored: datetime | None
) -> bool:
    """Cart contents follow the newest event until the checkout is settled, never after."""
    return status not in TERMINAL and not is_stale(incoming, stored)


def abandon_due(
    status: CheckoutStatus,
    reachable: bool,
    last_activity: datetime,
    abandon_after_seconds: int,
    exited_at: datetime | None = None,
    after_exit_seconds: int | None = None,
) -> datetime | None:
    """When an open, reachable checkout with no further activity becomes abandoned; else None.

    A store that also chose "N minutes after the shopper left the checkout" gets the earlier of
    the two; an exit counts only while nothing happened on the cart after it."""
    if status != CheckoutStatus.OPEN or not reachable:
        return None
    idle = last_activity + timedelta(seconds=abandon_after_seconds)
    if exited_at is None or after_exit_seconds is None or exited_at < last_activity:
        return idle
    return min(idle, exited_at + timedelta(seconds=after_exit_seconds))


def after_exit_seconds(settings: dict[str, object] | None) -> int | None:
    """The store's exit threshold from `Store.settings`, or None when it only uses idle time."""
    value = (settings or {}).get("abandon_after_exit_seconds")
    return int(str(value)) if value is not None else None


def settled_status(
    current: CheckoutStatus, contacted_at: datetime | None, placed_at: datetime
) -> CheckoutStatus | None:
    """Status after an order: recovered only if we reached out before the purchase."""
    if (
        current == CheckoutStatus.ABANDONED
        and contacted_at is not None
        and contacted_at <= placed_at
    ):
        return CheckoutStatus.RECOVERED
    if current in (CheckoutStatus.OPEN, CheckoutStatus.ABANDONED):
        return CheckoutStatus.COMPLETED
    return None


# Payment not taken (yet, or ever): such an order is placed but does not count as a purchase.
UNPAID = frozenset({"pending", "authorized", "voided", "expired", "failed"})
BIRTHDAY_HOUR = 9  # a birthday message goes out at 09:00 in the shopper's zone


def is_confirmed(placed: bool, financial_status: str | None) -> bool:
    """A confirmed order: not cancelled and paid (or a source that does not say, like the snippet)."""
    return placed and (financial_status or "").lower() not in UNPAID


def is_payment_pending(placed: bool, financial_status: str | None) -> bool:
    """Placed and waiting for its money: Shopify's `pending` or `authorized`, WooCommerce's
    `pending` or `on-hold`, a collect order whose payment status is pending. Not placed is never
    pending: a Shopify order cancelled before it was paid keeps `pending`."""
    return placed and (financial_status or "").lower() in {"pending", "authorized", "on-hold"}


def payment_state(placed: bool, financial_status: str | None) -> str:
    """`pending` (waiting for its money), `paid`, or `cancelled` (voided, failed, cancelled)."""
    if is_payment_pending(placed, financial_status):
        return "pending"
    return "paid" if is_confirmed(placed, financial_status) else "cancelled"


def next_birthday_due(birthday: date | None, zone: str, now: datetime) -> datetime | None:
    """The next 09:00 on the birthday in `zone` at or after today's date there, as UTC.

    29 February falls on 28 February in common years. Today's birthday counts even when 09:00
    has passed (the worker sends what is due), so a birthday learnt at noon is still greeted.
    """
    if birthday is None:
        return None
    tz = ZoneInfo(zone)
    today = now.astimezone(tz).date()
    for year in (today.year, today.year + 1):
        day = _on_year(birthday, year)
        if day >= today:
            local = datetime.combine(day, time(BIRTHDAY_HOUR), tzinfo=tz)
            return local.astimezone(UTC)
    return None  # unreachable: next year's date is always after today


def _on_year(birthday: date, year: int) -> date:
    try:
        return birthday.replace(year=year)
    except ValueError:  # 29 February in a common year
        return date(year, 2, 28)

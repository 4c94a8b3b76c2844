"""Customer history's pure rules: which orders count, exact spend, birthdays across zones and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from app.checkouts.history import summarize
from app.checkouts.rules import is_confirmed, is_payment_pending, next_birthday_due, payment_state
from app.checkouts.schemas import birthday


def test_only_paid_uncancelled_orders_are_confirmed():
    assert is_confirmed(True, "paid") and is_confirmed(True, None)
    assert is_confirmed(True, "partially_refunded")
    assert not is_confirmed(True, "pending") and not is_confirmed(True, "authorized")
    assert not is_confirmed(False, "paid")  # cancelled
    assert is_payment_pending(True, "authorized") and is_payment_pending(True, "pending")
    # Not placed is not pending, whatever the status says: a Shopify order cancelled before it
    # was paid keeps `pending`. (WooCommerce's `pending` now arrives placed, like `on-hold`.)
    assert not is_payment_pending(False, "pending")
    assert not is_payment_pending(True, "paid")
    assert is_payment_pending(True, "on-hold")  # WooCommerce: placed, waiting for the transfer


def test_payment_state_of_an_order():
    assert payment_state(True, "pending") == payment_state(True, "authorized") == "pending"
    assert payment_state(True, "paid") == payment_state(True, None) == "paid"
    assert payment_state(False, "pending") == "cancelled"  # cancelled before it was paid
    assert payment_state(True, "voided") == payment_state(False, "paid") == "cancelled"


def test_summary_counts_confirmed_orders_and_adds_store_currency_exactly():
    t1, t2, t3 = (datetime(2026, 1, d, tzinfo=UTC) for d in (1, 5, 9))
    orders = [
        (True, "paid", Decimal("0.10"), "USD", t2),
        (True, "paid", Decimal("0.20"), "usd", t1),
        (True, "pending", Decimal("99"), "USD", t3),  # not paid: neither count nor spend
        (False, "paid", Decimal("50"), "USD", t3),  # cancelled
        (True, "paid", Decimal("7"), "EUR", t3),  # an order, but not spend in USD
    ]
    found = summarize(orders, "USD")
    assert found.orders_count == 3
    assert found.total_spent == Decimal("0.30")
    assert (found.first_order_at, found.last_order_at) == (t1, t3)
    assert summarize([], "USD").first_order_at is None


def test_birthday_forms():
    assert birthday("1990-07-14") == date(1990, 7, 14)
    assert birthday("--02-29") == date(1904, 2, 29)
    assert birthday("07-14") == date(1904, 7, 14)
    assert birthday("14/07/1990") is None and birthday(None) is None
    assert birthday("1850-01-01") is None


def test_birthday_is_nine_in_the_morning_where_the_shopper_lives():
    now = datetime(2026, 7, 13, 20, 0, tzinfo=UTC)
    # Tokyo is already on the 14th at 20:00 UTC: 09:00 JST on the 14th is 00:00 UTC.
    assert next_birthday_due(date(1990, 7, 14), "Asia/Tokyo", now) == datetime(
        2026, 7, 14, 0, 0, tzinfo=UTC
    )
    # Los Angeles in summer (PDT, UTC-7).
    assert next_birthday_due(date(1990, 7, 14), "America/Los_Angeles", now) == datetime(
        2026, 7, 14, 16, 0, tzinfo=UTC
    )
    # The same zone in winter (PST, UTC-8): DST moves the UTC instant by an hour.
    assert next_birthday_due(date(1990, 1, 14), "America/Los_Angeles", now) == datetime(
        2027, 1, 14, 17, 0, tzinfo=UTC
    )


def test_birthday_on_the_day_of_a_dst_change_and_leap_day():
    # Europe/Berlin springs forward on 29 March 2026; 09:00 is CEST (UTC+2) that day.
    now = datetime(2026, 3, 1, tzinfo=UTC)
    assert next_birthday_due(date(2000, 3, 29), "Europe/Berlin", now) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC
    )
    assert next_birthday_due(date(1904, 2, 29), "UTC", datetime(2026, 2, 1, tzinfo=UTC)) == (
        datetime(2026, 2, 28, 9, 0, tzinfo=UTC)
    )
    # Today's birthday after 09:00 is still today's (the worker sends what is due).
    late = datetime(2026, 3, 29, 18, 0, tzinfo=UTC)
    assert next_birthday_due(date(2000, 3, 29), "Europe/Berlin", late) == datetime(
        2026, 3, 29, 7, 0, tzinfo=UTC
    )
    assert next_birthday_due(None, "UTC", late) is None

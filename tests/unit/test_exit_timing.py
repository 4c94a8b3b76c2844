"""When a cart is abandoned with an exit threshold too: the earlier of idle time and the exit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from app.checkouts.models import CheckoutStatus
from app.checkouts.rules import abandon_due, after_exit_seconds
from app.integrations.collect.normalize import normalize

T = datetime(2026, 3, 2, 12, tzinfo=UTC)
OPEN = CheckoutStatus.OPEN


def test_without_an_exit_threshold_idle_time_decides():
    assert abandon_due(OPEN, True, T, 900) == T + timedelta(minutes=15)
    assert abandon_due(OPEN, True, T, 900, T + timedelta(minutes=1), None) == T + timedelta(
        minutes=15
    )


def test_an_exit_brings_the_abandonment_forward_but_never_later():
    left = T + timedelta(minutes=2)
    assert abandon_due(OPEN, True, T, 3600, left, 300) == left + timedelta(minutes=5)
    assert abandon_due(OPEN, True, T, 600, left, 3600) == T + timedelta(minutes=10)


def test_activity_after_the_exit_means_the_shopper_came_back():
    assert abandon_due(OPEN, True, T, 3600, T - timedelta(seconds=1), 60) == T + timedelta(hours=1)


def test_unreachable_or_settled_carts_are_never_due():
    assert abandon_due(OPEN, False, T, 900, T, 60) is None
    assert abandon_due(CheckoutStatus.COMPLETED, True, T, 900, T, 60) is None


def test_the_threshold_is_read_from_store_settings():
    assert after_exit_seconds({}) is None and after_exit_seconds(None) is None
    assert after_exit_seconds({"abandon_after_exit_seconds": 300}) == 300


def test_checkout_exited_normalizes_to_an_exit():
    [item] = normalize(
        {
            "type": "track",
            "event": "Checkout Exited",
            "anonymousId": "a1",
            "timestamp": "2026-03-02T12:00:00Z",
            "properties": {"checkout_id": "c-1"},
        }
    )
    assert item.token == "c-1" and item.exited_at == T

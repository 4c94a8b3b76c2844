"""The trigger catalogue's rules: pure, one entry key per period, and gapless due ranges."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.recovery import triggers
from app.recovery.triggers import CLOCK, History, Occasion, entry_key

NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)


def test_the_catalogue_has_the_eight_scenarios():
    assert set(triggers.CATALOGUE) == {
        "checkout.abandoned",
        "order.payment_pending",
        "contact.subscribed",
        "contact.birthday",
        "order.first_placed",
        "contact.lapsed",
        "contact.orders_count_reached",
        "contact.total_spent_reached",
    }
    timed = {t.name for t in triggers.CATALOGUE.values() if t.timed}
    assert timed == {"contact.birthday", "order.first_placed", "contact.lapsed"}
    assert [t.name for t in triggers.CATALOGUE.values() if t.transactional] == [
        "order.payment_pending"
    ]


def test_event_triggers_fire_only_on_their_event():
    abandoned = Occasion("checkout.abandoned", NOW, subject_id=7)
    assert entry_key("checkout.abandoned", History(), abandoned, {}) == "checkout:7"
    assert (
        entry_key("contact.lapsed", History(last_order_at=NOW - timedelta(days=400)), abandoned, {})
        is None
    )
    paid = Occasion("order.recorded", NOW, subject_id=3)
    pending = Occasion("order.recorded", NOW, subject_id=3, payment_pending=True)
    assert entry_key("order.payment_pending", History(), paid, {}) is None
    assert entry_key("order.payment_pending", History(), pending, {}) == "order:3"
    opted_in = Occasion("contact.opted_in", NOW, subject_id=1)
    assert entry_key("contact.subscribed", History(subscribed=True), opted_in, {}) == "subscribed"
    assert entry_key("contact.subscribed", History(subscribed=False), opted_in, {}) is None


def test_milestones_compare_exact_money_and_counts():
    recorded = Occasion("order.recorded", NOW, subject_id=9)
    rich = History(orders_count=3, total_spent=Decimal("500.00"))
    assert entry_key("contact.total_spent_reached", rich, recorded, {"amount": "500.00"}) == (
        "spent:500.00:USD"
    )
    assert entry_key("contact.total_spent_reached", rich, recorded, {"amount": "500.01"}) is None
    assert entry_key("contact.orders_count_reached", rich, recorded, {"count": 3}) == "orders:3"
    assert entry_key("contact.orders_count_reached", rich, recorded, {"count": 4}) is None


def test_timed_rules_and_their_periods():
    tick = Occasion(CLOCK, NOW)
    last = NOW - timedelta(days=90)
    lapsed = History(orders_count=2, first_order_at=last - timedelta(days=9), last_order_at=last)
    assert entry_key("contact.lapsed", lapsed, tick, {"days": 90}) == f"lapse:{last.isoformat()}"
    assert entry_key("contact.lapsed", lapsed, tick, {"days": 91}) is None
    assert entry_key("order.first_placed", lapsed, tick, {"days": 30}) == "first_order"
    due = datetime(2026, 6, 1, 7, tzinfo=UTC)
    born = History(birthday=date(1990, 6, 1), birthday_due_at=due)
    assert entry_key("contact.birthday", born, tick, {}) == "birthday:2026-06-01"
    assert (
        entry_key("contact.birthday", born, Occasion(CLOCK, due - timedelta(seconds=1)), {}) is None
    )


def test_params_get_defaults_and_refusals_name_the_field():
    assert triggers.validate_params("contact.lapsed", None) == {"days": 90}
    assert triggers.validate_params("contact.total_spent_reached", {"amount": 75}) == {
        "amount": "75"
    }
    with pytest.raises(triggers.TriggerProblem) as problem:
        triggers.validate_params("contact.orders_count_reached", {"count": True})
    assert problem.value.field == "trigger_params.count"
    with pytest.raises(triggers.TriggerProblem) as problem:
        triggers.due_range("checkout.abandoned", {}, NOW, NOW)
    assert problem.value.field == "trigger"


@given(
    days=st.integers(min_value=1, max_value=3650),
    steps=st.lists(st.integers(min_value=1, max_value=200_000), min_size=1, max_size=20),
)
def test_consecutive_passes_cover_time_without_gaps_or_overlaps(days, steps):
    """Each pass asks for (since - delay, now - delay]: one pass's upper bound is the next one's
    lower bound, so every due instant is looked at exactly once however the passes are spaced."""
    moments = [NOW]
    for seconds in steps:
        moments.append(moments[-1] + timedelta(seconds=seconds))
    ranges = [
        triggers.due_range("contact.lapsed", {"days": days}, a, b)
        for a, b in itertools.pairwise(moments)
    ]
    for (_, _, upper), (_, lower, _) in itertools.pairwise(ranges):
        assert upper == lower
    assert all(col == "last_order_at" and lo < hi for col, lo, hi in ranges)

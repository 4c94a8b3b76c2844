"""Pure scoring rules and the score conditions a flow step may carry."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.recovery.rules import Cart, unmet_condition, validate_conditions
from app.scoring import features, rules

NOW = datetime(2026, 3, 2, 12, tzinfo=UTC)


def test_prior_starts_at_the_base_rate_and_moves_towards_the_store():
    assert rules.prior(0, 0) == rules.BASE_RATE
    assert rules.prior(50, 25) == Decimal("0.3000")  # (25 + 5) / 100
    assert rules.prior(100_000, 40_000) == Decimal("0.3999")


@pytest.mark.parametrize(
    ("examples", "positives", "learns"),
    [(199, 50, False), (200, 19, False), (200, 181, False), (200, 20, True), (5000, 300, True)],
)
def test_a_model_needs_enough_history_and_both_outcomes(examples, positives, learns):
    assert rules.can_learn(examples, positives) is learns


def test_labels_wait_a_week_for_carts_that_did_not_come_back():
    assert rules.labelled("recovered", NOW, NOW) is True
    assert rules.labelled("completed", NOW, NOW) is True
    assert rules.labelled("abandoned", NOW - timedelta(days=6), NOW) is None
    assert rules.labelled("abandoned", NOW - timedelta(days=7), NOW) is False
    assert rules.labelled("expired", NOW - timedelta(days=30), NOW) is False
    assert rules.labelled("open", NOW - timedelta(days=30), NOW) is None


def test_expected_value_is_money_in_the_carts_currency():
    assert rules.expected_value(Decimal("0.3333"), Decimal("100"), "USD") == Decimal("33.33")
    assert rules.expected_value(Decimal("0.3333"), Decimal("1000"), "JPY") == Decimal("333")
    assert rules.as_score(1.7) == Decimal("1.0000") and rules.as_score(-0.1) == Decimal("0")


def test_features_are_one_row_per_example_in_a_fixed_order():
    e = features.Example(Decimal("99"), 3, 2, "tablet", True, 18, True, False, 14)
    row = dict(zip(features.NAMES, features.row(e), strict=True))
    assert row["tablet"] == 1 and row["mobile"] == row["desktop"] == 0
    assert row["items"] == 3 and row["returning"] == 1 and row["earlier_abandonments"] == 10
    assert row["hour_cos"] == pytest.approx(0, abs=1e-9) and row["hour_sin"] == pytest.approx(-1)
    assert features.matrix([e, e]).shape == (2, len(features.NAMES))


def cart(score: str, value: str) -> Cart:
    return Cart(Decimal("80"), "mobile", "US", False, frozenset(), Decimal(score), Decimal(value))


@pytest.mark.parametrize(
    ("conditions", "score", "value", "unmet"),
    [
        ({"max_score": "0.3"}, "0.2", "16", None),
        ({"max_score": "0.3"}, "0.6", "48", "recovery score above max_score"),
        ({"min_score": 0.5}, "0.4", "32", "recovery score below min_score"),
        ({"min_expected_value": "20"}, "0.6", "48", None),
        ({"min_expected_value": "20"}, "0.2", "16", "expected value below min_expected_value"),
        ({"max_expected_value": "20"}, "0.6", "48", "expected value above max_expected_value"),
    ],
)
def test_score_conditions(conditions, score, value, unmet):
    assert unmet_condition(conditions, cart(score, value)) == unmet


def test_score_conditions_are_validated():
    assert validate_conditions({"max_score": "0.4", "min_expected_value": "10"}) == []
    assert validate_conditions({"max_score": 40}) == [
        "max_score must be a likelihood between 0 and 1, got 40"
    ]
    assert validate_conditions({"min_expected_value": "lots"}) == [
        "min_expected_value must be an amount, got 'lots'"
    ]

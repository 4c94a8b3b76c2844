"""A/B tests, holdout lift, cost, ROI and percentiles: the numbers beside attribution."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.analytics import measures
from app.analytics.measures import Arm

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_two_proportion_z_known_value() -> None:
    # 120/1000 vs 100/1000: pooled p = 0.11, se = sqrt(.11*.89*.002) = 0.013993, z = 1.4293
    z, p = measures.two_proportion_z(120, 1000, 100, 1000)  # type: ignore[misc]
    assert round(z, 4) == 1.4293 and round(p, 3) == 0.153
    assert measures.two_proportion_z(0, 0, 1, 10) is None
    assert measures.two_proportion_z(0, 10, 0, 10) is None


def test_no_winner_below_the_minimum_sample_even_if_the_difference_is_large() -> None:
    result = measures.experiment([Arm("a", 50, 1), Arm("b", 50, 20)], min_sample=100)
    assert result.winner is None
    assert result.comparisons[1].p_value is not None and result.comparisons[1].p_value < 0.001
    assert not result.comparisons[1].enough


def test_winner_when_the_sample_allows_it() -> None:
    result = measures.experiment([Arm("a", 2000, 100), Arm("b", 2000, 160)], min_sample=100)
    assert result.winner == "b"


def test_no_winner_when_the_difference_is_noise() -> None:
    assert measures.experiment([Arm("a", 1000, 100), Arm("b", 1000, 104)]).winner is None


def test_control_wins_when_every_challenger_is_significantly_worse() -> None:
    assert measures.experiment([Arm("a", 2000, 200), Arm("b", 2000, 100)]).winner == "a"


def test_bonferroni_with_many_arms() -> None:
    # p ~ 0.03 against the control passes alone but not across four challengers.
    arms = [Arm("a", 1000, 100), Arm("b", 1000, 130)]
    assert measures.experiment(arms).winner == "b"
    many = [*arms, Arm("c", 1000, 100), Arm("d", 1000, 99), Arm("e", 1000, 101)]
    assert measures.experiment(many).winner is None


def test_single_arm_has_no_winner() -> None:
    assert measures.experiment([Arm("a", 5000, 400)]).winner is None
    assert measures.experiment([]).winner is None


def test_cost_and_roi_in_decimal() -> None:
    prices = measures.prices_from_settings({"sms_segment": "0.0079", "email": "0.001"})
    spent = measures.cost(sms_segments=1000, emails=2000, prices=prices)
    assert spent == Decimal("9.9000") and isinstance(spent, Decimal)
    assert measures.roi(Decimal("990"), spent) == Decimal(100)
    assert measures.roi(Decimal("10"), Decimal(0)) is None
    assert measures.prices_from_settings(None) == measures.Prices()


def test_percentiles() -> None:
    assert measures.percentile([], 0.5) is None
    assert measures.percentile([3.0], 0.9) == 3.0
    assert measures.percentile([1.0, 2.0, 3.0, 4.0], 0.5) == 2.5
    assert measures.percentile(list(map(float, range(1, 11))), 0.9) == 9.1


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50))
def test_median_lies_between_min_and_max(values: list[float]) -> None:
    median = measures.percentile(values, 0.5)
    assert median is not None and min(values) <= median <= max(values)
    p90 = measures.percentile(values, 0.9)
    assert p90 is not None and p90 >= median - 1e-9


# --- holdout -------------------------------------------------------------------------------------


def test_wilson_known_values() -> None:
    low, high = measures.wilson(81, 263, measures.z_for(0.95))  # Newcombe (1998), example a
    assert round(low, 4) == 0.2553 and round(high, 4) == 0.3662
    assert measures.wilson(0, 0, 1.96) == (0.0, 1.0)
    low, high = measures.wilson(0, 10, measures.z_for(0.95))
    assert abs(low) < 1e-12 and 0.27 < high < 0.28


def test_newcombe_known_values() -> None:
    # Newcombe (1998) table II example: 56/70 vs 48/80 -> difference 0.2, CI 0.0524 to 0.3339.
    low, high = measures.newcombe(56, 70, 48, 80, measures.z_for(0.95))
    assert round(low, 4) == 0.0524 and round(high, 4) == 0.3339


def test_lift_incremental_orders_and_revenue() -> None:
    result = measures.lift(
        measures.Group(900, 90, Decimal("9000")), measures.Group(100, 5, Decimal("500"))
    )
    assert result is not None
    assert result.incremental_orders == Decimal(45)  # 90 - 5 * 900 / 100
    assert result.incremental_revenue == Decimal(4500)  # 9000 - 5 * 900
    assert abs(result.difference - 0.05) < 1e-12 and result.low < result.difference < result.high
    assert measures.lift(measures.Group(10, 1), measures.Group(0, 0)) is None


def test_lift_significance_needs_the_interval_to_exclude_zero() -> None:
    strong = measures.lift(measures.Group(5000, 600), measures.Group(5000, 400))
    weak = measures.lift(measures.Group(50, 6), measures.Group(50, 4))
    assert strong and strong.significant
    assert weak and not weak.significant


def test_conversion_rule_is_the_same_for_both_groups() -> None:
    assert measures.converted(T0, T0 + timedelta(days=7), timedelta(days=7))
    assert not measures.converted(T0, T0 + timedelta(days=7, seconds=1), timedelta(days=7))
    assert not measures.converted(T0, T0 - timedelta(seconds=1), timedelta(days=7))
    assert not measures.converted(T0, None, timedelta(days=7))


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 400), st.integers(1, 400), st.integers(0, 400), st.integers(1, 400))
def test_newcombe_interval_contains_the_observed_difference(
    k1: int, n1: int, k2: int, n2: int
) -> None:
    k1, k2 = min(k1, n1), min(k2, n2)
    low, high = measures.newcombe(k1, n1, k2, n2, measures.z_for(0.95))
    assert -1 <= low <= k1 / n1 - k2 / n2 + 1e-12
    assert k1 / n1 - k2 / n2 - 1e-12 <= high <= 1

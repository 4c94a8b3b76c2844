"""A/B tests, cost, ROI, percentiles and time buckets: the numbers beside attribution."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from app.analytics import measures
from app.analytics.measures import Arm


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


def test_local_day_and_weeks_follow_the_store_zone() -> None:
    late_evening_la = datetime(2026, 3, 3, 7, 30, tzinfo=UTC)  # 23:30 on the 2nd in LA
    assert measures.local_day(late_evening_la, "America/Los_Angeles") == date(2026, 3, 2)
    assert measures.local_day(late_evening_la, "UTC") == date(2026, 3, 3)
    assert measures.week_start(date(2026, 3, 8)) == date(2026, 3, 2)
    assert len(measures.days_between(date(2026, 2, 27), date(2026, 3, 2))) == 4


@given(st.lists(st.floats(0, 1e6), min_size=1, max_size=50))
def test_median_lies_between_min_and_max(values: list[float]) -> None:
    median = measures.percentile(values, 0.5)
    assert median is not None and min(values) <= median <= max(values)
    p90 = measures.percentile(values, 0.9)
    assert p90 is not None and p90 >= median - 1e-9

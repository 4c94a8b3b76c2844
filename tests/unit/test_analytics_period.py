"""The merchant's calendar: local days, weeks, day bounds and the range a request asks for."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from app.analytics import period
from app.core.errors import ApiError
from app.stores.models import Store


def test_local_day_and_weeks_follow_the_store_zone() -> None:
    late_evening_la = datetime(2026, 3, 3, 7, 30, tzinfo=UTC)  # 23:30 on the 2nd in LA
    assert period.local_day(late_evening_la, "America/Los_Angeles") == date(2026, 3, 2)
    assert period.local_day(late_evening_la, "UTC") == date(2026, 3, 3)
    assert period.week_start(date(2026, 3, 8)) == date(2026, 3, 2)
    assert len(period.days_between(date(2026, 2, 27), date(2026, 3, 2))) == 4


def test_day_bounds_follow_clock_changes() -> None:
    start, end = period.day_bounds(date(2026, 3, 8), "America/New_York")  # spring forward
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=23)
    assert start.astimezone(UTC) == datetime(2026, 3, 8, 5, 0, tzinfo=UTC)


def test_range_defaults_to_the_last_30_local_days_and_refuses_bad_input() -> None:
    store = Store(timezone="Asia/Tokyo")
    now = datetime(2026, 3, 2, 16, 0, tzinfo=UTC)  # already the 3rd in Tokyo
    rng = period.parse_range(store, now, None, None, "")
    assert (rng.start, rng.end, rng.channel) == (date(2026, 2, 2), date(2026, 3, 3), None)
    assert rng.utc[0] == datetime(2026, 2, 1, 15, 0, tzinfo=UTC)
    for start, end, channel in [
        ("2026-03-10", "2026-03-01", None),
        ("2020-01-01", "2026-01-01", None),
        ("March", None, None),
        (None, None, "fax"),
    ]:
        with pytest.raises(ApiError) as refused:
            period.parse_range(store, now, start, end, channel)
        assert refused.value.status_code == 400

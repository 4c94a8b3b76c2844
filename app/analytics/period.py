"""The merchant's calendar: the period a request asks for, local days and their UTC bounds."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from app.core.errors import ApiError
from app.stores.models import Store

MAX_DAYS = 366
DEFAULT_DAYS = 30
CHANNELS = ("sms", "email")


@dataclass(frozen=True, slots=True)
class Range:
    start: date
    end: date
    zone: str
    channel: str | None

    @property
    def utc(self) -> tuple[datetime, datetime]:
        """Local midnight of the first day to local midnight after the last, as UTC instants."""
        return day_bounds(self.start, self.zone)[0], day_bounds(self.end, self.zone)[1]


def parse_range(
    store: Store, now: datetime, start: str | None, end: str | None, channel: str | None
) -> Range:
    """Dates are the merchant's calendar days; the default is the last 30 days up to today."""
    zone = store.timezone or "UTC"
    today = local_day(now, zone)
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise ApiError(400, "invalid_date", "from and to are dates like 2026-03-01") from None
    if first > last:
        raise ApiError(400, "invalid_range", "from must be on or before to")
    if (last - first).days + 1 > MAX_DAYS:
        raise ApiError(400, "invalid_range", f"a range covers at most {MAX_DAYS} days")
    if channel not in (None, "", *CHANNELS):
        raise ApiError(400, "invalid_channel", "channel is sms or email")
    return Range(first, last, zone, channel or None)


def day_bounds(day: date, zone: str) -> tuple[datetime, datetime]:
    """Local midnight of `day` to the next local midnight (23 or 25 hours on a clock change)."""
    tz = ZoneInfo(zone)
    return datetime.combine(day, time(), tz), datetime.combine(day + timedelta(days=1), time(), tz)


def local_day(moment: datetime, zone: str) -> date:
    """Trends are in the store's time zone: a sale at 23:30 in Los Angeles is that day's sale."""
    return moment.astimezone(ZoneInfo(zone)).date()


def week_start(day: date) -> date:
    """ISO weeks, starting Monday."""
    return day - timedelta(days=day.weekday())


def days_between(start: date, end: date) -> list[date]:
    """Every day from start to end inclusive, so a chart shows quiet days as zero, not as gaps."""
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]

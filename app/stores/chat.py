"""The store's live chat settings and business hours: pure rules, read by the chat and the settings page."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

WEEKDAYS = frozenset(range(5))
EVERY_DAY = frozenset(range(7))


@dataclass(frozen=True, slots=True)
class ChatSettings:
    enabled: bool = False
    start: time = time(9, 0)
    end: time = time(17, 0)
    days: frozenset[int] = WEEKDAYS
    """Weekdays agents answer (Monday 0 ... Sunday 6), in the store's time zone."""
    greeting: str = "Hi! Questions about your order? We're here."
    invite: bool = False
    """Invite to chat on exit intent (pointer leaving, tab hidden, back), once per session."""
    invite_text: str = "Before you go: any question about your order? We're here to help now."
    invite_everywhere: bool = False
    """False: only on pages that reported a checkout to the snippet."""
    invite_idle_seconds: int = 0
    """Also invite after this many seconds without typing, pointer or scroll once the shopper's
    email or phone is known (0: off); still at most once per session."""


def settings_from(raw: Mapping[str, Any] | None) -> ChatSettings:
    """The store's `settings["chat"]`, with defaults for anything missing or malformed."""
    raw = raw or {}
    default = ChatSettings()
    return ChatSettings(
        enabled=bool(raw.get("enabled")),
        start=_clock(raw.get("start")) or default.start,
        end=_clock(raw.get("end")) or default.end,
        days=EVERY_DAY if raw.get("weekends") else WEEKDAYS,
        greeting=str(raw.get("greeting") or default.greeting)[:200],
        invite=bool(raw.get("invite")),
        invite_text=str(raw.get("invite_text") or default.invite_text)[:200],
        invite_everywhere=bool(raw.get("invite_everywhere")),
        invite_idle_seconds=_seconds(raw.get("invite_idle_seconds")),
    )


IDLE_LIMIT = 3600


def _seconds(value: Any) -> int:
    """A whole number of seconds from 0 to an hour; anything else turns the rule off."""
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        return 0
    try:
        seconds = int(value)
    except ValueError:
        return 0
    return seconds if 0 <= seconds <= IDLE_LIMIT else 0


def _clock(value: Any) -> time | None:
    try:
        return time.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


@dataclass(frozen=True, slots=True)
class Availability:
    open: bool
    back_at: datetime | None
    """When agents are next in (UTC), None while open."""


def availability(now: datetime, chat: ChatSettings, zone: str) -> Availability:
    """Open when `now`, in the store's zone, is on an agents' day between start and end."""
    tz = _zone(zone)
    local = now.astimezone(tz)
    if local.weekday() in chat.days and chat.start <= local.time() < chat.end:
        return Availability(True, None)
    for ahead in range(8):
        day = local.date() + timedelta(days=ahead)
        if day.weekday() not in chat.days:
            continue
        opens = datetime.combine(day, chat.start, tzinfo=tz)
        if opens > local:
            return Availability(False, opens.astimezone(UTC))
    return Availability(False, None)  # no day with hours: agents answer by SMS or email

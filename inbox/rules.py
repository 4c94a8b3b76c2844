"""Pure inbox rules: SMS keywords, what the composer shows of quiet hours, round-robin choice."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.recovery.rules import Window, is_allowed


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# Carrier and FCC keywords (REVOKE and OPTOUT since 2025-05-14); Twilio answers them itself too.
OPT_OUT_WORDS = frozenset(
    {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})


def keyword_of(body: str) -> Keyword | None:
    """The whole message must be the keyword: "stop " counts, "please don't stop" does not."""
    word = body.strip().upper()
    if word in OPT_OUT_WORDS:
        return Keyword.OPT_OUT
    if word in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if word in HELP_WORDS:
        return Keyword.HELP
    return None


@dataclass(frozen=True, slots=True)
class QuietHours:
    """What the composer shows: whether texting now is outside the shopper's allowed hours.

    The hours themselves are the recovery engine's (`app.recovery.rules.window_for`)."""

    quiet: bool
    local_time: str
    zone: str


def quiet_hours(now: datetime, zone: str, window: Window) -> QuietHours:
    """An agent texting first follows the same hours as automated recovery texts."""
    local = now.astimezone(ZoneInfo(zone))
    return QuietHours(not is_allowed(now, zone, window), local.strftime("%H:%M"), zone)


@dataclass(frozen=True, slots=True)
class Candidate:
    agent_id: int
    open_count: int
    cap: int
    last_assigned_ts: float


def pick_assignee(candidates: list[Candidate]) -> int | None:
    """Round-robin: the online agent under their cap who was assigned least recently."""
    eligible = [c for c in candidates if c.open_count < c.cap]
    if not eligible:
        return None
    return min(eligible, key=lambda c: (c.last_assigned_ts, c.open_count, c.agent_id)).agent_id


# The fields the composer fills in canned replies (in the browser, see inbox.js `merge`).
MERGE_FIELDS = ("first_name", "last_name", "store_name", "cart_link", "cart_total", "agent_name")


def snooze_valid(now: datetime, until: datetime) -> bool:
    return until > now and (until - now).days <= 90


def preview(body: str, limit: int = 160) -> str:
    flat = " ".join(body.split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"

"""Pure inbox rules: SMS keywords, what the composer shows of quiet hours, round-robin choice."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from app.recovery.rules import Window, is_allowed


class Keyword(StrEnum):
    OPT_OUT = "opt_out"
    MAYBE_OPT_OUT = "maybe_opt_out"
    OPT_IN = "opt_in"
    HELP = "help"


# The FCC's 2024 revocation words (47 CFR 64.1200(a)(10), FCC 24-24: stop, quit, end, revoke,
# opt out, cancel, unsubscribe) and Twilio's default opt-out keywords (STOPALL, OPTOUT, ...),
# written without spaces: a message's words are joined the same way before comparing.
OPT_OUT_PHRASES = frozenset(
    {"stop", "stopall", "quit", "end", "revoke", "optout", "cancel", "unsubscribe"}
)
OPT_IN_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
_WORD = re.compile(r"[^\W_]+")  # runs of letters and digits: everything else separates words


def words_of(body: str) -> list[str]:
    """The message's words, case-folded; full-width and styled letters read as plain ones."""
    return _WORD.findall(unicodedata.normalize("NFKC", body).casefold())


def keyword_of(body: str) -> Keyword | None:
    """What a shopper's text means for consent.

    A message whose words, ignoring case, spacing and punctuation, are an opt-out phrase ("Stop.",
    "OPT-OUT", "Unsubscribe!", "STOP STOP") opts out. One that merely contains such a word ("please stop texting
    me") is a maybe: automated texts wait until an agent confirms or dismisses it. Opt-in and HELP
    stay whole-message keywords, so no sentence ever grants consent.
    """
    words = words_of(body)
    phrases = " ".join(words).replace("opt out", "optout").replace("stop all", "stopall").split()
    if "".join(words) in OPT_OUT_PHRASES or (phrases and set(phrases) <= OPT_OUT_PHRASES):
        return Keyword.OPT_OUT
    bare = body.strip().upper()
    if bare in OPT_IN_WORDS:
        return Keyword.OPT_IN
    if bare in HELP_WORDS:
        return Keyword.HELP
    if OPT_OUT_PHRASES.intersection(phrases):
        return Keyword.MAYBE_OPT_OUT
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

"""First-response time, as pure rules: the clock of one thread's opening, targets, and the figures.

The definition (docs: README "Inbox" → "First-response time"):

- A thread is measured once per **opening**: a new thread, or a closed thread reopened (by the
  shopper writing again, or by an agent pressing Reopen). Snoozing and waking is not a new opening.
- The clock **starts** at the first shopper message of the opening that waits for an answer:
  an inbound text, email or chat message, but not a keyword (STOP, START, HELP: those are answered
  by the system) and never an email auto-reply or bounce (they are not stored as messages).
  Later shopper messages while the clock runs do not move it: it measures from the *first*
  unanswered one.
- The clock **stops** at the first agent reply after it, on any channel, at the moment the reply is
  committed (before the provider call; a reply that then fails shows its failure on the message).
  Internal notes, automated recovery messages and the HELP answer never stop it.
- The time is whole seconds, never negative. The **target** is the store's for the channel the
  clock started on (defaults: chat 10 s, SMS and email 5 min), fixed when the clock starts, so
  changing the setting later does not rewrite history. The thread is **overdue** while the clock
  runs past its due time (start + target).
- Once answered, the opening's first response is done: later shopper messages start nothing until
  the thread is closed and reopened.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

CHANNELS = ("chat", "sms", "email")
DEFAULT_TARGETS: dict[str, int] = {"chat": 10, "sms": 300, "email": 300}
MAX_TARGET_SECONDS = 7 * 24 * 3600
FALLBACK_TARGET = 300  # a channel the store has no target for (a future one)


def targets_from_settings(raw: Mapping[str, Any] | None) -> dict[str, int]:
    """The store's targets (`settings.response_targets`, seconds per channel) over the defaults."""
    out = dict(DEFAULT_TARGETS)
    saved = (raw or {}).get("response_targets") if isinstance(raw, Mapping) else None
    if isinstance(saved, Mapping):
        for channel in CHANNELS:
            value = saved.get(channel)
            if isinstance(value, bool) or not isinstance(value, int):
                continue
            if 1 <= value <= MAX_TARGET_SECONDS:
                out[channel] = value
    return out


def target_for(targets: Mapping[str, int], channel: str) -> int:
    return int(targets.get(channel, FALLBACK_TARGET))


@dataclass(frozen=True, slots=True)
class Clock:
    """One opening's first-response clock, as the conversation row keeps it."""

    started_at: datetime | None = None
    channel: str | None = None
    due_at: datetime | None = None
    answered_at: datetime | None = None

    @property
    def running(self) -> bool:
        return self.started_at is not None and self.answered_at is None

    @property
    def seconds(self) -> int | None:
        """The first-response time, once answered."""
        if self.started_at is None or self.answered_at is None:
            return None
        return max(0, math.floor((self.answered_at - self.started_at).total_seconds()))

    @property
    def target_seconds(self) -> int | None:
        if self.started_at is None or self.due_at is None:
            return None
        return max(0, round((self.due_at - self.started_at).total_seconds()))

    @property
    def within_target(self) -> bool | None:
        seconds, target = self.seconds, self.target_seconds
        return None if seconds is None or target is None else seconds <= target


def reopened() -> Clock:
    """A new opening: nothing measured yet."""
    return Clock()


def on_shopper_message(
    clock: Clock, at: datetime, channel: str, targets: Mapping[str, int]
) -> Clock:
    """Start the clock on the opening's first unanswered message; otherwise leave it as it is."""
    if clock.started_at is not None or clock.answered_at is not None:
        return clock
    due = at + timedelta(seconds=target_for(targets, channel))
    return Clock(started_at=at, channel=channel, due_at=due, answered_at=None)


def on_agent_reply(clock: Clock, at: datetime) -> Clock:
    """Stop a running clock; an agent writing first (no clock) or again (answered) changes nothing."""
    if not clock.running:
        return clock
    assert clock.started_at is not None
    return replace(clock, answered_at=max(at, clock.started_at))


def overdue(clock: Clock, now: datetime) -> bool:
    return clock.running and clock.due_at is not None and now > clock.due_at


@dataclass(frozen=True, slots=True)
class Sample:
    """One answered first response: what it took and the target it had."""

    seconds: int
    target_seconds: int


@dataclass(frozen=True, slots=True)
class Summary:
    answered: int
    waiting_overdue: int
    median_seconds: int | None
    p90_seconds: int | None
    within_target: int
    share_within: float | None
    """Answered within target, over answered plus those still waiting past their target."""


def percentile(values: list[int], q: float) -> int | None:
    """Nearest rank (no interpolation): a value some thread really waited."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


def summarize(samples: Iterable[Sample], waiting_overdue: int = 0) -> Summary:
    """Median and p90 of answered first responses; a thread still waiting past its target counts
    as a miss in the share (else ignoring a thread would improve the figure)."""
    items = list(samples)
    seconds = [s.seconds for s in items]
    within = sum(1 for s in items if s.seconds <= s.target_seconds)
    base = len(items) + max(waiting_overdue, 0)
    return Summary(
        answered=len(items),
        waiting_overdue=max(waiting_overdue, 0),
        median_seconds=percentile(seconds, 0.5),
        p90_seconds=percentile(seconds, 0.9),
        within_target=within,
        share_within=within / base if base else None,
    )


def duration_text(seconds: int | None) -> str:
    """For people: 42 s, 3 min 5 s, 2 h 10 min, 1 d 3 h."""
    if seconds is None:
        return "—"
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        minutes, rest = divmod(seconds, 60)
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    if seconds < 86400:
        hours, rest = divmod(seconds, 3600)
        return f"{hours} h" + (f" {rest // 60} min" if rest // 60 else "")
    days, rest = divmod(seconds, 86400)
    return f"{days} d" + (f" {rest // 3600} h" if rest // 3600 else "")

"""First-response time as a pure rule: every short sequence of events against the definition."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from app.messaging import response_time as rt

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TARGETS = {"chat": 10, "sms": 300, "email": 300}
EVENTS = ("chat", "sms", "email", "agent", "reopen")


def replay(events: tuple[str, ...]) -> tuple[rt.Clock, list[int]]:
    """Through the rule: one event per minute, answered first responses collected per opening."""
    clock, answered = rt.Clock(), []
    for i, event in enumerate(events):
        at = T0 + timedelta(minutes=i)
        if event == "reopen":
            clock = rt.reopened()
        elif event == "agent":
            before = clock
            clock = rt.on_agent_reply(clock, at)
            if before.running:
                answered.append(clock.seconds)
        else:
            clock = rt.on_shopper_message(clock, at, event, TARGETS)
    return clock, answered


def by_definition(events: tuple[str, ...]) -> tuple[int | None, str | None, list[int]]:
    """The docstring's words, read off the list: per opening, the first shopper message and the
    first agent reply after it."""
    openings: list[list[tuple[int, str]]] = [[]]
    for i, event in enumerate(events):
        if event == "reopen":
            openings.append([])
        else:
            openings[-1].append((i, event))
    answered = []
    for opening in openings:
        first = next(((i, e) for i, e in opening if e != "agent"), None)
        reply = first and next((i for i, e in opening if e == "agent" and i > first[0]), None)
        if first is not None and reply is not None:
            answered.append((reply - first[0]) * 60)
    last = openings[-1]
    first = next(((i, e) for i, e in last if e != "agent"), None)
    return (first[0] if first else None), (first[1] if first else None), answered


@pytest.mark.parametrize("length", range(0, 7))
def test_every_sequence_matches_the_definition(length):
    for events in itertools.product(EVENTS, repeat=length):
        clock, answered = replay(events)
        start, channel, expected = by_definition(events)
        assert answered == expected, events
        if start is None:
            assert clock == rt.Clock(), events
            continue
        assert clock.started_at == T0 + timedelta(minutes=start), events
        assert clock.channel == channel, events
        assert clock.due_at == clock.started_at + timedelta(seconds=TARGETS[channel]), events
        assert clock.target_seconds == TARGETS[channel]


def test_an_agent_writing_first_starts_nothing_and_the_shoppers_answer_is_measured():
    clock = rt.on_agent_reply(rt.Clock(), T0)
    assert clock == rt.Clock()
    clock = rt.on_shopper_message(clock, T0 + timedelta(seconds=5), "sms", TARGETS)
    clock = rt.on_agent_reply(clock, T0 + timedelta(seconds=65))
    assert clock.seconds == 60 and clock.within_target is True


def test_overdue_only_while_running_and_strictly_after_the_due_time():
    clock = rt.on_shopper_message(rt.Clock(), T0, "chat", TARGETS)
    assert not rt.overdue(clock, T0 + timedelta(seconds=10))
    assert rt.overdue(clock, T0 + timedelta(seconds=10, microseconds=1))
    answered = rt.on_agent_reply(clock, T0 + timedelta(seconds=30))
    assert not rt.overdue(answered, T0 + timedelta(days=1))
    assert answered.seconds == 30 and answered.within_target is False
    assert not rt.overdue(rt.Clock(), T0)


def test_seconds_are_whole_and_never_negative():
    clock = rt.on_shopper_message(rt.Clock(), T0, "email", TARGETS)
    assert rt.on_agent_reply(clock, T0 + timedelta(seconds=2.9)).seconds == 2
    # a reply stamped a hair before the message (two clocks) counts as immediate
    assert rt.on_agent_reply(clock, T0 - timedelta(seconds=3)).seconds == 0


def test_targets_from_settings_keep_defaults_for_missing_or_bad_values():
    assert rt.targets_from_settings(None) == {"chat": 10, "sms": 300, "email": 300}
    raw = {"response_targets": {"chat": 30, "sms": 0, "email": True, "fax": 5}}
    assert rt.targets_from_settings(raw) == {"chat": 30, "sms": 300, "email": 300}
    assert rt.targets_from_settings({"response_targets": {"sms": 10**9}})["sms"] == 300
    assert rt.target_for(TARGETS, "whatsapp") == rt.FALLBACK_TARGET


def test_percentile_is_nearest_rank():
    assert rt.percentile([], 0.5) is None
    assert rt.percentile([7], 0.9) == 7
    values = list(range(1, 11))  # 1..10
    assert rt.percentile(values, 0.5) == 5
    assert rt.percentile(values, 0.9) == 9
    assert rt.percentile(list(reversed(values)), 0.9) == 9
    assert rt.percentile([1, 2, 3], 0.5) == 2
    assert rt.percentile([1, 100], 0.9) == 100


def test_summary_counts_threads_still_waiting_past_target_as_misses():
    samples = [rt.Sample(5, 10), rt.Sample(10, 10), rt.Sample(11, 10), rt.Sample(400, 300)]
    s = rt.summarize(samples, waiting_overdue=1)
    assert (s.answered, s.within_target, s.waiting_overdue) == (4, 2, 1)
    assert s.share_within == pytest.approx(2 / 5)
    assert s.median_seconds == 10 and s.p90_seconds == 400
    empty = rt.summarize([])
    assert empty.share_within is None and empty.median_seconds is None
    assert rt.summarize([], waiting_overdue=2).share_within == 0


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0 s"),
        (59, "59 s"),
        (60, "1 min"),
        (185, "3 min 5 s"),
        (3600, "1 h"),
        (7800, "2 h 10 min"),
        (86400, "1 d"),
        (97200, "1 d 3 h"),
    ],
)
def test_duration_text(seconds, text):
    assert rt.duration_text(seconds) == text

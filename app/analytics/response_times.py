"""First-response figures for the dashboard: median, p90 and share within target, per channel.

Read with plain SQL from the inbox's tables (as `raw.conversations` reads messages), so analytics
imports nothing of `inbox`. A thread counts in the period its clock started in (the shopper's
first unanswered message); the rule itself is `app/messaging/response_time.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.analytics import sql
from app.analytics.period import Range
from app.messaging import response_time
from app.messaging.response_time import Sample, Summary

LABELS = {"chat": "Live chat", "sms": "SMS", "email": "Email"}


@dataclass(frozen=True, slots=True)
class Row:
    channel: str
    label: str
    target_seconds: int
    summary: Summary


@dataclass(frozen=True, slots=True)
class Tile:
    total: Summary
    rows: list[Row]
    waiting_on_time: int = 0
    """Threads still waiting for a first reply and not yet past their target (not measured)."""


async def for_period(store_id: int, settings: dict | None, period: Range, now: datetime) -> Tile:
    start, end = period.utc
    answered = await sql.rows(
        """SELECT f.channel, f.seconds, f.target_seconds FROM inbox_first_response f
        WHERE f.store_id = $1 AND f.asked_at >= $2 AND f.asked_at < $3""",
        store_id,
        start,
        end,
    )
    waiting = await sql.rows(
        """SELECT c.response_channel AS channel,
          sum(CASE WHEN c.response_due_at < $4 THEN 1 ELSE 0 END) AS n,
          sum(CASE WHEN c.response_due_at < $4 THEN 0 ELSE 1 END) AS on_time
        FROM inbox_conversation c
        WHERE c.store_id = $1 AND c.response_started_at >= $2 AND c.response_started_at < $3
          AND c.responded_at IS NULL
        GROUP BY c.response_channel""",
        store_id,
        start,
        end,
        now,
    )
    return tile(answered, waiting, response_time.targets_from_settings(settings), period.channel)


def tile(
    answered: list[dict], waiting: list[dict], targets: dict[str, int], only: str | None
) -> Tile:
    """Pure: rows as read to the tile; `only` keeps one channel (the dashboard's filter)."""
    samples: dict[str, list[Sample]] = {}
    for r in answered:
        samples.setdefault(str(r["channel"]), []).append(
            Sample(int(r["seconds"]), int(r["target_seconds"]))
        )
    late = {str(r["channel"]): int(r["n"]) for r in waiting if r["channel"] and int(r["n"] or 0)}
    channels = [c for c in response_time.CHANNELS if only in (None, c)]
    channels += sorted(
        c for c in {*samples, *late} - set(response_time.CHANNELS) if only in (None, c)
    )
    rows = [
        Row(
            c,
            LABELS.get(c, c),
            response_time.target_for(targets, c),
            response_time.summarize(samples.get(c, []), late.get(c, 0)),
        )
        for c in channels
    ]
    every = [s for c in channels for s in samples.get(c, [])]
    total = response_time.summarize(every, sum(late.get(c, 0) for c in channels))
    on_time = sum(int(r.get("on_time") or 0) for r in waiting if r["channel"] in channels)
    return Tile(total, rows, on_time)

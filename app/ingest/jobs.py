"""Worker jobs for ingestion: process a stored delivery and schedule what it makes due."""

from __future__ import annotations

import contextlib
import logging
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from tortoise.expressions import Q

from app.config import get_settings
from app.core.logging import ctx
from app.core.retention import CHUNK, MOST, delete_oldest
from app.core.scheduling import enqueue, schedule_abandon_check, schedule_dispatch
from app.ingest import processing
from app.ingest.models import OrderSeen, RawEvent, RawStatus
from app.ingest.services import claim_pending, nudge

log = logging.getLogger(__name__)


MAX_ATTEMPTS = 8
DRAIN_BATCH = 100
GRACE = timedelta(seconds=30)


async def drain_raw_events(job_ctx: dict[str, Any]) -> int:
    """Process every pending delivery, batch by batch, until none is left to claim.

    A delivery that fails stays pending with its error; its claim lapses after CLAIM_FOR, which
    is the retry backoff, and after MAX_ATTEMPTS it is marked failed for `followup reprocess`.
    """
    done = 0
    while batch := await claim_pending(DRAIN_BATCH):
        for raw in batch:
            with contextlib.suppress(Exception):  # recorded on the row by _run; go on with the rest
                await _run(job_ctx, raw)
            done += 1
    return done


async def process_raw_event(job_ctx: dict[str, Any], event_id: int) -> str:
    """Normalize and apply one delivery by id (`followup reprocess`). Safe to run twice: every
    step is an upsert or a guarded update."""
    raw = await RawEvent.get_or_none(id=event_id)
    if raw is None or raw.status != RawStatus.PENDING:
        return "skipped"
    return await _run(job_ctx, raw)


async def _run(job_ctx: dict[str, Any], raw: RawEvent) -> str:
    try:
        outcome = await processing.process(raw)
    except Exception as exc:
        await _failed(raw, exc)
        raise
    await processing.finish(raw, outcome)
    queue = job_ctx["redis"]
    for checkout_id, due in outcome.abandon_checks:
        await schedule_abandon_check(queue, checkout_id, due)
    for outbox_id in outcome.event_ids:
        await schedule_dispatch(queue, outbox_id)
    for function, subject_id in outcome.jobs:
        await enqueue(queue, function, subject_id, job_id=f"{function}:{subject_id}:{raw.id}")
    if outcome.status != RawStatus.PROCESSED:
        log.info("raw event %s", outcome.status, extra=ctx(raw_event=raw.id, note=outcome.note))
    return str(outcome.status)


async def _failed(raw: RawEvent, exc: Exception) -> None:
    """One update: count the attempt, keep the error, give up at MAX_ATTEMPTS (a row erased
    meanwhile simply matches nothing)."""
    attempts = raw.attempts + 1
    await RawEvent.filter(id=raw.id).update(
        attempts=attempts,
        error=repr(exc)[:2000],
        status=RawStatus.FAILED if attempts >= MAX_ATTEMPTS else RawStatus.PENDING,
    )
    log.exception("processing failed", extra=ctx(raw_event=raw.id, topic=raw.topic))


async def sweep_deliveries(queue: ArqRedis | None, now: datetime) -> dict[str, int]:
    """Nudge a drain for deliveries Redis lost; forget order keys nobody needs any more, and
    handled deliveries past their retention."""
    counts = {"raw": 0, "orders_seen_pruned": 0, "raw_pruned": 0}
    stale_raw = await RawEvent.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        status=RawStatus.PENDING,
        received_at__lte=now - GRACE,
    ).count()
    if stale_raw and await nudge(queue, force=True):
        counts["raw"] = stale_raw
    # An order's capture-time keys matter only until its raw event is processed; keep them as
    # long as an order may match a checkout by contact, then let them go.
    window = timedelta(hours=get_settings().capture.order_match_window_hours)
    counts["orders_seen_pruned"] = await OrderSeen.filter(seen_at__lt=now - window).delete()
    counts["raw_pruned"] = await prune_raw_events(now)
    return counts


async def prune_raw_events(now: datetime, chunk: int = CHUNK, most: int = MOST) -> int:
    """Delete handled deliveries older than FOLLOWUP_RAW_EVENT_DAYS, oldest first.

    A body holds a shopper's contact details and cart, and platforms retry a delivery for hours,
    not weeks, so a handled one is kept only as long as `followup reprocess` may want it. A
    delivery still pending (never processed, or put back by `followup reprocess`) is never
    deleted, whatever its age."""
    cutoff = now - timedelta(days=get_settings().capture.raw_event_days)
    handled = Q(received_at__lt=cutoff) & ~Q(status=RawStatus.PENDING)
    return await delete_oldest(RawEvent, handled, "received_at", chunk, most)

"""Worker jobs of the event catalogue: dispatch outbox events, re-enqueue those Redis lost."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis

from app.core import events
from app.core.outbox import OutboxEvent
from app.core.scheduling import schedule_dispatch

SWEEP_BATCH = 500
GRACE = timedelta(seconds=30)
MAX_ATTEMPTS = 20


async def dispatch_event(job_ctx: dict[str, Any], outbox_id: int) -> bool:
    """Every domain's events run here; the handlers are wired once per process at startup."""
    return await events.dispatch(outbox_id)


async def dispatch_events(job_ctx: dict[str, Any], outbox_ids: list[int]) -> int:
    """Events committed together (a batch of sends), dispatched in one job."""
    return await events.dispatch_many(outbox_ids)


async def sweep_events(queue: ArqRedis | None, now: datetime) -> int:
    """Re-enqueue undispatched events older than the grace period; returns how many were queued."""
    pending = (
        await OutboxEvent.filter(
            dispatched_at=None, created_at__lte=now - GRACE, attempts__lt=MAX_ATTEMPTS
        )
        .limit(SWEEP_BATCH)
        .values("id")
    )
    queued = 0
    for row in pending:
        queued += await schedule_dispatch(queue, int(row["id"]))
    return queued

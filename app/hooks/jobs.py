"""Worker jobs for webhooks: one delivery attempt, and the sweep that re-reads what is due."""

from __future__ import annotations

import logging
from collections import Counter
from typing import Any

from app.core.timeutil import utcnow
from app.hooks import services

log = logging.getLogger(__name__)
SWEEP_BATCH = 1000


async def deliver_hook(job_ctx: dict[str, Any], delivery_id: int) -> str:
    """Attempt one delivery if the database says it is due; a duplicate job finds it taken."""
    return await services.deliver(delivery_id, job_ctx.get("redis"))


async def deliver_hooks(job_ctx: dict[str, Any], delivery_ids: list[int]) -> dict[str, int]:
    """Attempt a fan-out's deliveries together; those already taken or not due are left alone."""
    outcomes = await services.deliver_many(delivery_ids, job_ctx.get("redis"))
    return dict(Counter(outcomes))


async def hooks_sweep(ctx: dict[str, Any]) -> int:
    """Re-enqueue every due delivery from the database, so a flushed Redis or a killed worker
    loses nothing (a lock left by a dead worker expires after the timeout), and delete finished
    deliveries past their retention."""
    now = utcnow()
    due = await services.due_deliveries(now, SWEEP_BATCH)
    for delivery_id, attempts in due:
        await services.schedule(ctx["redis"], delivery_id, attempts, None, "hook-sweep")
    if due:
        log.info("hooks sweep: %d due deliveries re-enqueued", len(due))
    pruned = await services.prune_deliveries(now)
    if pruned:
        log.info("hooks sweep: %d finished deliveries past their retention deleted", pruned)
    return len(due)

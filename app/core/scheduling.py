"""Enqueue helpers with deterministic job ids: the database says what is due, Redis only when."""

from __future__ import annotations

import logging
from datetime import datetime

from arq.connections import ArqRedis

from app.core.logging import ctx

log = logging.getLogger(__name__)


async def enqueue(
    queue: ArqRedis | None,
    function: str,
    *args: object,
    job_id: str,
    defer_until: datetime | None = None,
) -> bool:
    """Best effort: a failure here is repaired by the sweep, which re-reads the database."""
    if queue is None:
        return False
    try:
        job = await queue.enqueue_job(function, *args, _job_id=job_id, _defer_until=defer_until)
    except Exception as exc:
        log.warning("enqueue failed, the sweep will retry: %r", exc, extra=ctx(job=job_id))
        return False
    return job is not None


async def schedule_abandon_check(queue: ArqRedis | None, checkout_id: int, due: datetime) -> bool:
    return await enqueue(
        queue,
        "check_abandoned",
        checkout_id,
        job_id=f"abandon:{checkout_id}:{int(due.timestamp())}",
        defer_until=due,
    )


async def schedule_dispatch(queue: ArqRedis | None, outbox_id: int) -> bool:
    return await enqueue(queue, "dispatch_event", outbox_id, job_id=f"event:{outbox_id}")

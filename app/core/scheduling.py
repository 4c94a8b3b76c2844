"""Enqueue helpers with deterministic job ids: the database says what is due, Redis only when."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis

from app.core.logging import ctx
from app.core.timeutil import utcnow

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
    if defer_until is not None and defer_until <= utcnow():
        defer_until = None  # arq derives the expiry from the defer time: a past one expires at once
    try:
        job = await queue.enqueue_job(function, *args, _job_id=job_id, _defer_until=defer_until)
    except Exception as exc:
        log.warning("enqueue failed, the sweep will retry: %s", exc, extra=ctx(job=job_id))
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


_shared: Any = None


async def shared_queue() -> ArqRedis | None:
    """One queue per process for work that runs outside a job context (event handlers, the API);
    None when Redis is away, which is fine: the sweeps schedule everything from the database."""
    global _shared
    if _shared is None:
        from app.core.redis import connect_queue

        try:
            _shared = await connect_queue()
        except Exception as exc:
            log.warning("queue unavailable, the sweeps will catch up: %s", exc)
            return None
    return _shared


async def dispatch_soon(*outbox_ids: int) -> None:
    """Dispatch events just committed now rather than at the next sweep."""
    queue = await shared_queue()
    for outbox_id in outbox_ids:
        await schedule_dispatch(queue, outbox_id)

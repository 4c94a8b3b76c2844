"""arq jobs say when a step is due (the database says what): job ids, scheduling, forgetting."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from arq.constants import job_key_prefix, retry_key_prefix

from app.config import get_settings
from app.core.scheduling import Planned, enqueue, enqueue_many
from app.core.timeutil import utcnow
from app.recovery.sending._deps import Deps
from app.recovery.sending._pointer import Pointer

log = logging.getLogger(__name__)


def job_id(enrollment_id: int, step: int) -> str:
    return f"send:{enrollment_id}:{step}"


def _job_grace() -> timedelta | None:
    """With batches on (PostgreSQL), drainers send steps at their time and remove their jobs; a
    job runs only if no drainer did, this long after the due time."""
    settings = get_settings()
    recovery, url = settings.recovery, settings.database.url
    if recovery.batch_size <= 0 or not url.startswith(("postgres", "asyncpg")):
        return None
    return timedelta(seconds=recovery.job_grace_seconds)


def _plan(enrollment_id: int, step: int, due: datetime | None, now: datetime) -> Planned:
    """A step's job. It carries its step's due time: while the drainers have yet to reach it, the
    job waits for them instead of asking the database (`app.recovery.jobs.send_step`). With
    drainers on, it runs a grace after the due time; a time already past runs now."""
    due = due or now
    grace = _job_grace()
    runs = max(due, now) + grace if grace else due
    return Planned(
        "send_step", (enrollment_id, step, due.timestamp()), job_id(enrollment_id, step), runs
    )


async def schedule(queue: Any, enrollment_id: int, step: int, due: datetime | None) -> bool:
    """Best effort and deduplicated by job id (`_plan` says when it runs)."""
    plan = _plan(enrollment_id, step, due, utcnow())
    return await enqueue(
        queue, plan.function, *plan.args, job_id=plan.job_id, defer_until=plan.defer_until
    )


async def schedule_many(queue: Any, steps: Sequence[tuple[int, int, datetime | None]]) -> int:
    """`schedule` for many (enrollment id, step, due time) at once, in one Redis round trip per
    500 (the sweep's way: a late system has thousands of due steps, each already queued)."""
    now = utcnow()
    return await enqueue_many(queue, [_plan(e, step, due, now) for e, step, due in steps])


async def wake(queue: Any, enrollment_id: int, step: int, due: datetime) -> bool:
    """A drainer left this due step to its own job (slow work first): run the job now, not after
    the grace it was queued with (`due`, which the drainer has passed, says it need not wait)."""
    plan = _plan(enrollment_id, step, due, utcnow())
    return await enqueue(queue, plan.function, *plan.args, job_id=plan.job_id, sooner=True)


async def schedule_after(deps: Deps, enrollment_id: int, pointer: Pointer | None) -> None:
    """Queue the step a pointer move made due, if any; the caller already knows it (no read)."""
    if pointer is not None and pointer.due is not None:
        await schedule(deps.queue, enrollment_id, pointer.step, pointer.due)


async def forget_jobs(deps: Deps, keys: list[tuple[int, int]]) -> None:
    """The per-step jobs of steps a batch claimed have nothing left to do: spare every worker the
    trip (a copy that already started finds the pointer moved or the `sending` row, and stops)."""
    queue = deps.queue
    if queue is None or not keys:
        return
    name = getattr(queue, "default_queue_name", None)
    ids = [job_id(enrollment_id, step) for enrollment_id, step in keys]
    try:
        async with queue.pipeline(transaction=False) as pipe:
            if name:
                pipe.zrem(name, *ids)
            pipe.delete(*(job_key_prefix + i for i in ids), *(retry_key_prefix + i for i in ids))
            await pipe.execute()
    except Exception as exc:  # harmless: a leftover job finds the step done and stops
        log.warning("could not remove claimed jobs: %s", exc)

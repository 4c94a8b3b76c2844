"""Enqueue helpers with deterministic job ids: the database says what is due, Redis only when."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from arq.constants import job_key_prefix, result_key_prefix
from arq.jobs import serialize_job
from arq.utils import timestamp_ms, to_unix_ms
from redis.commands.core import AsyncScript
from redis.typing import EncodableT

from app.core import events
from app.core.logging import ctx

log = logging.getLogger(__name__)


async def enqueue(
    queue: ArqRedis | None,
    function: str,
    *args: object,
    job_id: str,
    defer_until: datetime | None = None,
    sooner: bool = False,
) -> bool:
    """Best effort: a failure here is repaired by the sweep, which re-reads the database.

    `sooner`: a job already queued for later is brought forward to `defer_until` (or now)."""
    if queue is None:
        return False
    try:
        return await _enqueue_once(queue, function, args, job_id, defer_until, sooner)
    except Exception as exc:
        log.warning("enqueue failed, the sweep will retry: %s", exc, extra=ctx(job=job_id))
        return False


# arq's enqueue_job in one round trip instead of three (WATCH, EXISTS, MULTI/EXEC): the same
# check that neither the job nor its result exists, then the same job key, expiry and queue entry,
# in a script Redis runs atomically. The job is serialized by arq itself, so arq's workers run it
# exactly as one it enqueued (tests/unit/test_enqueue.py runs one).
# With ARGV[5] set, a job already queued for later than ARGV[3] is moved to ARGV[3] instead (its
# data and expiry stay; arq's workers read the time from the queue alone).
_ENQUEUE_SCRIPT = """
if redis.call('exists', KEYS[2]) > 0 then return 0 end
if redis.call('exists', KEYS[1]) > 0 then
  if ARGV[5] == '1' then
    local queued = redis.call('zscore', KEYS[3], ARGV[4])
    if queued and tonumber(queued) > tonumber(ARGV[3]) then
      redis.call('zadd', KEYS[3], ARGV[3], ARGV[4])
      return 1
    end
  end
  return 0
end
redis.call('psetex', KEYS[1], ARGV[1], ARGV[2])
redis.call('zadd', KEYS[3], ARGV[3], ARGV[4])
return 1
"""
_script: AsyncScript | None = None


def _enqueue_call(
    queue: ArqRedis,
    function: str,
    args: tuple[object, ...],
    job_id: str,
    defer_until: datetime | None,
    sooner: bool,
) -> tuple[list[str], list[EncodableT]]:
    """The script's keys and arguments for one job, as arq's `enqueue_job` would store it."""
    now_ms = timestamp_ms()
    # arq derives the expiry from the defer time: a time already past runs now instead.
    score = max(to_unix_ms(defer_until), now_ms) if defer_until is not None else now_ms
    expires_ms = score - now_ms + queue.expires_extra_ms
    job = serialize_job(function, args, {}, None, now_ms, serializer=queue.job_serializer)
    keys = [job_key_prefix + job_id, result_key_prefix + job_id, queue.default_queue_name]
    return keys, [expires_ms, job, score, job_id, int(sooner)]


def _enqueue_script(queue: ArqRedis) -> AsyncScript:
    global _script
    if _script is None:  # its digest only: each call names the client it runs on
        _script = queue.register_script(_ENQUEUE_SCRIPT)
    return _script


async def _enqueue_once(
    queue: ArqRedis,
    function: str,
    args: tuple[object, ...],
    job_id: str,
    defer_until: datetime | None,
    sooner: bool = False,
) -> bool:
    keys, argv = _enqueue_call(queue, function, args, job_id, defer_until, sooner)
    return bool(await _enqueue_script(queue)(keys=keys, args=argv, client=queue))


@dataclass(frozen=True)
class Planned:
    """One job for `enqueue_many`: what `enqueue` takes, as a value."""

    function: str
    args: tuple[object, ...]
    job_id: str
    defer_until: datetime | None = None


PIPELINE_CHUNK = 500


async def enqueue_many(queue: ArqRedis | None, jobs: list[Planned]) -> int:
    """`enqueue` for many jobs in one round trip per 500: each runs the same script, so each is
    decided alone and atomically (taken ids are skipped, the rest queued), as if enqueued one by
    one. Best effort like `enqueue`: a chunk that fails is logged and counts as nothing queued
    (its jobs may be queued or not; the next sweep settles them). Returns how many were queued."""
    if queue is None or not jobs:
        return 0
    script, queued = _enqueue_script(queue), 0
    for start in range(0, len(jobs), PIPELINE_CHUNK):
        chunk = jobs[start : start + PIPELINE_CHUNK]
        try:
            async with queue.pipeline(transaction=False) as pipe:
                for job in chunk:
                    keys, argv = _enqueue_call(
                        queue, job.function, job.args, job.job_id, job.defer_until, False
                    )
                    await script(keys=keys, args=argv, client=pipe)
                answers = await pipe.execute()
        except Exception as exc:
            log.warning("enqueue of %d jobs failed, the sweep will retry: %s", len(chunk), exc)
            continue
        queued += sum(1 for answer in answers if answer)
    return queued


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


async def dispatch_committed(queue: ArqRedis | None, outbox_id: int) -> bool:
    """An event just committed: dispatched now, or with its batch's others when the batch ends."""
    held = GATHERED_DISPATCHES.hold((queue, outbox_id))
    return held or await schedule_dispatch(queue, outbox_id)


async def _dispatch_together(held: list[tuple[ArqRedis | None, int]]) -> None:
    by_queue: dict[int, tuple[ArqRedis | None, list[int]]] = {}
    for queue, outbox_id in held:
        by_queue.setdefault(id(queue), (queue, []))[1].append(outbox_id)
    for queue, ids in by_queue.values():
        ids.sort()
        if len(ids) == 1:
            await schedule_dispatch(queue, ids[0])
        else:
            job_id = f"events:{ids[0]}:{ids[-1]}:{len(ids)}"
            await enqueue(queue, "dispatch_events", ids, job_id=job_id)


# Inside `events.batched()` (a drainer's batch of sends), events committed by the batch are
# dispatched by one job when it ends instead of one job each: one read of the rows, one mark.
GATHERED_DISPATCHES: events.Gathering[tuple[ArqRedis | None, int]] = events.Gathering(
    "event dispatch", _dispatch_together
)


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
        await dispatch_committed(queue, outbox_id)

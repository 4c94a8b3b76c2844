"""Worker jobs: send one step, the drainers that send due steps in batches (PostgreSQL), the
sweep that re-schedules from the database what Redis lost, and the pass that enrols contacts
whose time-based trigger (birthday, first order, lapse) fell due."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import timedelta
from typing import Any

from arq import Retry

from app.config import get_settings
from app.core.db import is_postgres
from app.core.timeutil import utcnow
from app.messaging.models import DeliveryStatus, Message
from app.messaging.providers import for_settings
from app.recovery import entries
from app.recovery.models import Enrollment, EnrollmentStatus
from app.recovery.sending import (
    Claimed,
    Deps,
    Later,
    claim_batch,
    left_to_drainer,
    plain_steps,
    run_step,
    schedule,
)

log = logging.getLogger(__name__)
SWEEP_BATCH = 5000


def deps_for(ctx: dict[str, Any]) -> Deps:
    """Providers are built once per worker; tests hand in their own `Deps` through the worker ctx."""
    if "recovery" not in ctx:
        settings = get_settings()
        providers = for_settings(settings)
        ctx["recovery"] = Deps(
            settings=settings,
            sms=providers.sms,
            email=providers.email,
            redis=ctx.get("redis"),
            queue=ctx.get("redis"),
        )
    deps: Deps = ctx["recovery"]
    if deps.queue is None:
        deps.queue = ctx.get("redis")
        deps.redis = deps.redis or ctx.get("redis")
    return deps


DRAINERS = 2  # per worker process: one claims while the other's sends are out
# Batches whose provider calls a worker process has out at once (its drainers together): a
# drainer claims its next batch while earlier ones wait for their answers, so a slow provider
# (50 ms) costs latency, not throughput. 4 x 50 sends: httpx's default pool (100 connections per
# sender) queues the rest for at most one answer's time.
BATCHES_OUT = 4


class SendsOut:
    """The sends a worker's drainers have claimed and not yet finished, bounded: a drainer
    reserves room for a whole batch before claiming, and gives back what it did not claim."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.out = 0
        self._freed = asyncio.Event()

    async def reserve(self, n: int) -> None:
        while self.out and self.out + n > self.limit:
            self._freed.clear()
            await self._freed.wait()
        self.out += n

    def release(self, n: int) -> None:
        self.out -= n
        self._freed.set()


def start_drainers(ctx: dict[str, Any]) -> None:
    """Batch claims run beside the arq jobs (PostgreSQL only: they rely on SKIP LOCKED)."""
    deps = deps_for(ctx)
    size = deps.settings.recovery.batch_size
    if size <= 0 or not is_postgres():
        return
    stopping = asyncio.Event()
    sends = SendsOut(BATCHES_OUT * size)
    ctx["recovery_stopping"] = stopping
    ctx["recovery_drainers"] = [
        asyncio.create_task(drain(deps, size, stopping, sends=sends), name=f"recovery-drainer-{i}")
        for i in range(DRAINERS)
    ]


async def stop_drainers(ctx: dict[str, Any], grace: float | None = None) -> None:
    """Stop claiming and wait for the drainers: each releases the sends it claimed and had not yet
    handed to a provider, and waits for the calls already out (bounded: the provider timeout and
    10 s to record the answers; past that the drainers are cancelled, and a call cut short is
    left `sending`, later `unknown`, never resent). No drainer or batch task is left running."""
    tasks = ctx.pop("recovery_drainers", [])
    if not tasks:
        return
    ctx.pop("recovery_stopping").set()
    if grace is None:
        grace = deps_for(ctx).settings.recovery.provider_timeout_seconds + 10.0
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


HANDOFF_SECONDS = 60.0  # how long a drainer leaves a handed-off step to its job


async def drain(
    deps: Deps,
    batch_size: int,
    stopping: asyncio.Event,
    idle: float = 0.5,
    sends: SendsOut | None = None,
) -> None:
    """Claim batches until the worker stops, each sent while the next is claimed (within
    `sends`' room); sleep briefly when nothing is due. The drainer owns its batches (a task
    group): it returns only once every one has finished, and a cancelled drainer cancels them,
    each releasing what it had not yet handed to a provider."""
    sends = sends or SendsOut(batch_size)  # alone: one batch at a time
    handed: dict[int, float] = {}
    async with asyncio.TaskGroup() as batches:
        while not stopping.is_set():
            now = time.monotonic()
            handed = {k: v for k, v in handed.items() if v > now}
            await sends.reserve(batch_size)
            if stopping.is_set():  # the room came from a batch that finished during the stop
                sends.release(batch_size)
                break
            try:
                claimed = await claim_batch(deps, batch_size, list(handed))
            except Exception:
                sends.release(batch_size)
                log.exception("recovery batch failed; retrying")
                busy = False
            else:
                sends.release(batch_size - len(claimed.claims))
                handed |= {e.id: now + HANDOFF_SECONDS for e in claimed.handed_off}
                busy = claimed.found > 0
                if claimed.claims:
                    batches.create_task(_send(claimed, sends, stopping), name="recovery-batch")
            if not busy:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stopping.wait(), idle)


async def _send(claimed: Claimed, sends: SendsOut, stopping: asyncio.Event) -> None:
    try:
        await claimed.send(stopping)  # each step's failure is its own (logged, left to the sweep)
    except Exception:
        log.exception("recovery batch send failed; the sweep resolves its attempts")
    finally:
        sends.release(len(claimed.claims))


async def send_step(ctx: dict[str, Any], enrollment_id: int, step: int) -> str:
    """One step; in a worker whose drainers run, a plain due step is left to them (they claim
    it within a poll, in a batch, far cheaper than a send of its own)."""
    deps = deps_for(ctx)
    if ctx.get("recovery_drainers") and await left_to_drainer(deps, enrollment_id, step):
        return "batched"
    try:
        return await run_step(deps, enrollment_id, step)
    except Later as later:
        raise Retry(defer=timedelta(seconds=later.seconds)) from None


async def recovery_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Everything due soon gets its job again (deterministic ids make this a no-op when present)."""
    deps = deps_for(ctx)
    now = deps.clock()
    horizon = now + timedelta(seconds=2 * get_settings().capture.sweep_interval_seconds)
    due = (
        await Enrollment.filter(status=EnrollmentStatus.ACTIVE, next_due_at__lte=horizon)
        .order_by("next_due_at")
        .limit(SWEEP_BATCH)
        .values_list("id", "next_step", "next_due_at", "flow_id", "store_id", "abandoned_at")
    )
    counts = {"due": 0, "stale_sends": 0}
    # With drainers here, plain steps are claimed from the database: queueing a job for each
    # would only compete with them, most when they are behind (a late system must speed up).
    plain: set[int] = set()
    if ctx.get("recovery_drainers"):
        plain = await plain_steps(deps, [(e, s, f, st, a) for e, s, _, f, st, a in due])
    for enrollment_id, step, due_at, *_ in due:
        if enrollment_id not in plain:
            counts["due"] += await schedule(deps.queue, enrollment_id, step, due_at)
    stale = now - timedelta(seconds=deps.settings.recovery.sending_stale_seconds)
    orphans = (
        await Message.filter(
            status=DeliveryStatus.SENDING, enrollment_id__not_isnull=True, updated_at__lt=stale
        )
        .limit(SWEEP_BATCH)
        .values_list("enrollment_id", "step_index")
    )
    for enrollment_id, step in orphans:
        counts["stale_sends"] += await schedule(deps.queue, enrollment_id, step, None)
    if any(counts.values()):
        log.info("recovery sweep: %s", counts)
    return counts


async def enroll_timed(ctx: dict[str, Any]) -> dict[str, int]:
    """Every few minutes: each enabled timed flow enrols what fell due since its stored cursor
    (an indexed range per flow, never a scan of all contacts; the unique entry key makes two
    workers passing at once, or a pass repeated after a crash, enrol nobody twice)."""
    return await entries.enroll_due(utcnow(), ctx.get("redis"))

"""Worker jobs: send one step, the drainers that send due steps in batches (PostgreSQL), the
sweep that re-schedules from the database what Redis lost, and the pass that enrols contacts
whose time-based trigger (birthday, first order, lapse) fell due."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    Deps,
    Later,
    left_to_drainer,
    run_step,
    schedule_many,
    send_due,
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


@dataclass
class Front:
    """How far this worker's drainers have come: every step due up to `due` was claimed, left to
    its own job, or locked by another claim (`Claims.reached`), as of `seen` (monotonic)."""

    due: datetime | None = None
    seen: float = 0.0

    def reached(self, due: datetime | None) -> None:
        if due is not None:
            self.due = due if self.due is None else max(self.due, due)
            self.seen = time.monotonic()

    def ahead(self, due: datetime) -> float | None:
        """Seconds from the drainers' front to `due` while they are working towards it; None
        when they have passed it, or when none has claimed lately (stuck: let the job check)."""
        if self.due is None or time.monotonic() - self.seen > FRONT_STALE_SECONDS:
            return None
        gap = (due - self.due).total_seconds()
        return gap if gap > 0 else None


FRONT_STALE_SECONDS = 15.0  # longer than a batch takes, even with providers timing out
WAIT_CAP_SECONDS = 30.0  # a waiting job looks again at least this often
MOST_WAITS = 60  # then it asks the database anyway (about half an hour of waiting)


def start_drainers(ctx: dict[str, Any]) -> None:
    """Batch claims run beside the arq jobs (PostgreSQL only: they rely on SKIP LOCKED)."""
    deps = deps_for(ctx)
    size = deps.settings.recovery.batch_size
    if size <= 0 or not is_postgres():
        return
    stopping = asyncio.Event()
    front = ctx.setdefault("recovery_front", Front())
    ctx["recovery_stopping"] = stopping
    ctx["recovery_drainers"] = [
        asyncio.create_task(drain(deps, size, stopping, front), name=f"recovery-drainer-{i}")
        for i in range(DRAINERS)
    ]


async def stop_drainers(ctx: dict[str, Any], grace: float = 20.0) -> None:
    """Let each drainer finish the batch in hand (its sends are committed as `sending`)."""
    tasks = ctx.pop("recovery_drainers", [])
    if not tasks:
        return
    ctx.pop("recovery_stopping").set()
    _, late = await asyncio.wait(tasks, timeout=grace)
    for task in late:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


HANDOFF_SECONDS = 60.0  # how long a drainer leaves a handed-off step to its job


async def drain(
    deps: Deps,
    batch_size: int,
    stopping: asyncio.Event,
    front: Front,
    idle: float = 0.5,
) -> None:
    """Claim and send batches until the worker stops; sleep briefly when nothing is due. A stop
    lets the batch in hand finish: cutting its provider calls short would leave `unknown` rows."""
    handed: dict[int, float] = {}
    while not stopping.is_set():
        now = time.monotonic()
        handed = {k: v for k, v in handed.items() if v > now}
        try:
            batch = await send_due(deps, batch_size, list(handed))
            busy = bool(batch.sends or sum(batch.outcomes.values()))
            handed |= {e.id: now + HANDOFF_SECONDS for e in batch.handed_off}
            front.reached(batch.reached)
        except Exception:
            log.exception("recovery batch failed; retrying")
            busy = False
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), idle)


async def send_step(
    ctx: dict[str, Any], enrollment_id: int, step: int, due: float | None = None
) -> str:
    """One step; in a worker whose drainers run, a plain due step is left to them (they claim
    it within a poll, in a batch, far cheaper than a send of its own).

    A job whose step the drainers have yet to reach (they are behind: `Front`) waits for them
    without a query; once they have passed its due time it asks the database as before, since
    a step they leave (a retry, slow preparation) is the job's to send."""
    deps = deps_for(ctx)
    if ctx.get("recovery_drainers"):
        wait = _behind_drainers(ctx, due)
        if wait is not None:
            raise Retry(defer=timedelta(seconds=wait))
        if await left_to_drainer(deps, enrollment_id, step):
            return "batched"
    try:
        return await run_step(deps, enrollment_id, step)
    except Later as later:
        raise Retry(defer=timedelta(seconds=later.seconds)) from None


def _behind_drainers(ctx: dict[str, Any], due: float | None) -> float | None:
    """How long a job should wait for this worker's drainers to reach its step, if at all."""
    front: Front | None = ctx.get("recovery_front")
    if front is None or due is None or ctx.get("job_try", 1) > MOST_WAITS:
        return None
    gap = front.ahead(datetime.fromtimestamp(due, UTC))
    return None if gap is None else min(max(gap, 1.0), WAIT_CAP_SECONDS)


async def recovery_sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Everything due soon gets its job again (deterministic ids make this a no-op when present)."""
    deps = deps_for(ctx)
    now = deps.clock()
    horizon = now + timedelta(seconds=2 * get_settings().capture.sweep_interval_seconds)
    due = (
        await Enrollment.filter(status=EnrollmentStatus.ACTIVE, next_due_at__lte=horizon)
        .order_by("next_due_at")
        .limit(SWEEP_BATCH)
        .values_list("id", "next_step", "next_due_at")
    )
    counts = {"due": await schedule_many(deps.queue, due), "stale_sends": 0}
    stale = now - timedelta(seconds=deps.settings.recovery.sending_stale_seconds)
    orphans = (
        await Message.filter(
            status=DeliveryStatus.SENDING, enrollment_id__not_isnull=True, updated_at__lt=stale
        )
        .limit(SWEEP_BATCH)
        .values_list("enrollment_id", "step_index")
    )
    stale_steps = [(enrollment_id, step, None) for enrollment_id, step in orphans]
    counts["stale_sends"] = await schedule_many(deps.queue, stale_steps)
    if any(counts.values()):
        log.info("recovery sweep: %s", counts)
    return counts


async def enroll_timed(ctx: dict[str, Any]) -> dict[str, int]:
    """Every few minutes: each enabled timed flow enrols what fell due since its stored cursor
    (an indexed range per flow, never a scan of all contacts; the unique entry key makes two
    workers passing at once, or a pass repeated after a crash, enrol nobody twice)."""
    return await entries.enroll_due(utcnow(), ctx.get("redis"))

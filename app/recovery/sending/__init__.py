"""The send path: a due recovery step becomes at most one message, whatever crashes.

Public surface (everything else in this package is private):
- `run_step(deps, enrollment, step)`: a step's own job (arq `send_step`); raises `Later`.
- `send_due(deps, limit)`: a drainer's batch of due steps (PostgreSQL; `app.recovery.jobs.drain`
  loops over it, and a step's job asks `left_to_drainer` whether to leave its step to one).
- `schedule(queue, enrollment, step, due)`: queue a step's job, deduplicated by job id
  (`schedule_many` for the sweep's thousands, one Redis round trip per 500); with
  drainers on it runs a grace after the due time, and waits for them while they are behind.
A step's own job is a batch of one: both claim, decide and send through the same modules.

A step from due to sent, in reading order:
0. `_prepare`, before any lock: a discount code, Shopify images, and the store's current prices
   and stock (`app.recovery.fresh`: one request per store per batch, cached, bounded, falling
   back to the captured cart); `_attempt` renders from them and applies the flow's sold-out choice.
1. `_claim`: one transaction locks the enrollments (`FOR UPDATE`; a batch `SKIP LOCKED`), their
   contacts (the frequency budget) and checkouts, and reads their history once (`_facts`).
2. `_attempt`: under those locks the stop and pace rules (`app.recovery.rules`, pure) decide on
   facts read there; the sender's slot is reserved; the attempt is rendered and committed as a
   `Message` in state `sending` whose `idempotency_key` is `enrollment:{id}:step:{n}` -- the
   database refuses a second copy. Or the decision is acted on instead: stop, defer, skip.
3. `_deliver`: the last order check, then `app.messaging.outbound.send` calls the provider. A
   definite refusal is recorded (permanent: never retried, flagged on the contact; transient:
   back to `pending`, retried with backoff). An answer never received (timeout, crash, kill -9)
   leaves the row `sending`; after FOLLOWUP_SENDING_STALE_SECONDS it becomes `unknown` and the
   sequence moves on WITHOUT resending: a missed step is better than a duplicate text.
4. `_pointer` moves `Enrollment.next_step` once; `_queue` schedules the next step's job.
The database says what is due; arq jobs `send:{enrollment}:{step}` only say when, and a sweep
(`app.recovery.jobs.recovery_sweep`) re-schedules whatever Redis lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from app.core import events
from app.core.db import is_postgres
from app.core.logging import ctx
from app.messaging.outbound import announce_changed
from app.recovery.flows import ordered_steps
from app.recovery.models import Enrollment
from app.recovery.sending._attempt import Claim
from app.recovery.sending._claim import claim_due, claim_step, left_to_drainer, peek_due
from app.recovery.sending._deliver import deliver
from app.recovery.sending._deps import Deps, Later
from app.recovery.sending._facts import orders_seen
from app.recovery.sending._pointer import advance, idempotency_key, is_current
from app.recovery.sending._prepare import batch_prices, current_prices, prepare
from app.recovery.sending._queue import (
    forget_jobs,
    schedule,
    schedule_after,
    schedule_many,
    wake,
)
from app.stores.services import recent_store

__all__ = [
    "Batch",
    "Deps",
    "Later",
    "idempotency_key",
    "left_to_drainer",
    "run_step",
    "schedule",
    "schedule_many",
    "send_due",
]

log = logging.getLogger(__name__)


async def run_step(deps: Deps, enrollment_id: int, step_index: int) -> str:
    """Send one step if it is still due and allowed; returns what happened (for logs and tests).

    Raises `Later` when the step must wait (not due, quiet hours, throttle, backoff, in flight)."""
    now = deps.clock()
    enrollment = await Enrollment.get_or_none(id=enrollment_id)
    if enrollment is None or not is_current(enrollment, step_index):
        return "stale"
    steps = await ordered_steps(enrollment.flow_id, enrollment.abandoned_at)
    if step_index >= len(steps):
        await advance(None, enrollment, step_index, steps, now)
        return "completed"
    if enrollment.next_due_at and enrollment.next_due_at > now + timedelta(seconds=1):
        raise Later((enrollment.next_due_at - now).total_seconds(), "not due yet")
    store = await recent_store(enrollment.store_id)
    if store is None:  # deleted (shop/redact) since the enrollment was read
        return "stale"
    discount = await prepare(deps, store, enrollment, steps[step_index], now)
    prices = await current_prices(deps, store, enrollment.checkout_id)
    claim = await claim_step(deps, enrollment_id, step_index, steps, discount, prices)
    return await _finish(deps, claim)


@dataclass
class Batch:
    """What a drainer's claim did: the sends it made and a count of every row's outcome."""

    sends: list[Claim] = field(default_factory=list)
    outcomes: Counter[str] = field(default_factory=Counter)
    handed_off: list[Enrollment] = field(default_factory=list)
    reached: datetime | None = None  # see `Claims.reached`


async def send_due(deps: Deps, limit: int, skip: list[int] | None = None) -> Batch:
    """Claim up to `limit` due steps, send them concurrently, and say what happened to each.

    PostgreSQL only: the claim is `FOR UPDATE SKIP LOCKED`. On SQLite no drainer runs
    (`app.recovery.jobs.start_drainers`) and each step's own job sends it."""
    if not is_postgres():
        raise RuntimeError("batch claims need PostgreSQL (FOR UPDATE SKIP LOCKED)")
    due = await peek_due(deps, limit, skip or []) if deps.fresh else []
    prices = await batch_prices(deps, due)
    claimed = await claim_due(deps, limit, skip or [], prices)
    sends = [c for c in claimed.claims if c.outcome == "send"]
    await forget_jobs(
        deps, [(c.enrollment.id, c.enrollment.next_step) for c in sends if c.enrollment]
    )
    for enrollment in claimed.handed_off:  # slow work first: the step's own job does it, now
        await wake(
            deps.queue, enrollment.id, enrollment.next_step, enrollment.next_due_at or deps.clock()
        )
    await _last_order_check(sends)
    async with events.batched():  # the sends' rollup marks: written once, when all have answered
        results = await asyncio.gather(*(_finish_in_batch(deps, c) for c in claimed.claims))
    outcomes = Counter(results)
    outcomes["handed_off"] += len(claimed.handed_off)
    return Batch(sends, +outcomes, claimed.handed_off, claimed.reached)


async def _last_order_check(sends: list[Claim]) -> None:
    """The order check every send makes before its provider call, for the whole batch in one
    query, after the claim's commit and just before the sends start."""
    claims, carts = [], []
    for claim in sends:
        if claim.checkout is not None and claim.store is not None:
            claims.append(claim)
            carts.append((claim.store.id, claim.checkout, claim.contact))
    for claim, ordered in zip(claims, await orders_seen(carts), strict=True):
        claim.ordered = ordered


async def _finish(deps: Deps, claim: Claim) -> str:
    """After the claim's commit: send what it committed, or follow up on what it decided."""
    if claim.outcome == "send":
        if claim.wait:  # the sender's slot, reserved under the lock once the channel was known
            await asyncio.sleep(claim.wait)
        return await deliver(deps, claim)
    if claim.outcome in ("deferred", "in_flight") and claim.until:
        raise Later((claim.until - deps.clock()).total_seconds(), claim.reason or claim.outcome)
    enrollment_id = claim.enrollment.id if claim.enrollment else None
    if claim.outcome in ("skipped", "advanced", "failed") and enrollment_id is not None:
        await schedule_after(deps, enrollment_id, claim.pointer)
    if claim.message is not None and claim.reason == "unknown":
        await announce_changed(claim.message.id)
    if claim.outcome in ("skipped", "stopped"):
        log.info(
            "recovery step %s",
            claim.outcome,
            extra=ctx(enrollment=enrollment_id, reason=claim.reason),
        )
    return claim.outcome


async def _finish_in_batch(deps: Deps, claim: Claim) -> str:
    """Like a job's, but nothing propagates: a step that must wait is queued (a transient
    refusal) or claimed again when due (deferred); a crash is left to the sweep."""
    enrollment = claim.enrollment
    try:
        return await _finish(deps, claim)
    except Later as later:
        if claim.outcome != "send" or enrollment is None:
            return claim.outcome
        due = deps.clock() + timedelta(seconds=later.seconds)
        await schedule(deps.queue, enrollment.id, enrollment.next_step, due)
        return "retry"
    except Exception:
        message = claim.message
        log.exception(
            "batch send failed; the sweep resolves the attempt",
            extra=ctx(
                enrollment=enrollment.id if enrollment else None,
                message=message.id if message else None,
            ),
        )
        return "error"

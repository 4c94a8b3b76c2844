"""The send path: a due recovery step becomes at most one message, whatever crashes.

Public surface (everything else in this package is private):
- `run_step(deps, enrollment, step)`: a step's own job (arq `send_step`); raises `Later`.
- `send_due(deps, limit)`: a drainer's batch of due steps (PostgreSQL; `app.recovery.jobs.drain`
  loops over it, and a step's job asks `left_to_drainer` whether to leave its step to one).
- `schedule(queue, enrollment, step, due)`: queue a step's job, deduplicated by job id.
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
import contextlib
import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

from app.core.db import is_postgres
from app.core.logging import ctx
from app.messaging.models import DeliveryStatus, Message
from app.messaging.outbound import announce_changed
from app.recovery.flows import ordered_steps
from app.recovery.models import Enrollment
from app.recovery.sending._attempt import Claim
from app.recovery.sending._claim import (
    claim_due,
    claim_step,
    left_to_drainer,
    peek_due,
    plain_steps,
)
from app.recovery.sending._deliver import deliver
from app.recovery.sending._deps import Deps, Later
from app.recovery.sending._facts import OrderKeys, orders_seen
from app.recovery.sending._pointer import advance, idempotency_key, is_current
from app.recovery.sending._prepare import batch_prices, current_prices, prepare
from app.recovery.sending._queue import forget_jobs, schedule, schedule_after
from app.stores.services import recent_store

__all__ = [
    "Batch",
    "Claimed",
    "Deps",
    "Later",
    "claim_batch",
    "idempotency_key",
    "left_to_drainer",
    "plain_steps",
    "run_step",
    "schedule",
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


@dataclass
class Claimed:
    """A drainer's batch once its claim committed: `send()` sends it, and may run while the
    drainer already claims the next batch (its rows are `sending`, so no claim takes them again)."""

    deps: Deps
    claims: list[Claim] = field(default_factory=list)
    handed_off: list[Enrollment] = field(default_factory=list)

    @property
    def found(self) -> int:
        """Rows the claim settled or handed off (0: nothing was due)."""
        return len(self.claims) + len(self.handed_off)

    async def send(self, stopping: asyncio.Event | None = None) -> Batch:
        """Every provider call of the batch at once, right after one last order check for all
        its carts (a send that must first wait for its sender's slot checks for itself after
        the wait); each answer recorded as it comes.

        Once `stopping` is set (the worker stops), or if this is cancelled, a send not yet handed
        to its provider is released (`release`); a call already out is awaited and recorded."""
        now = [c for c in self.claims if _checks_now(c)]
        ordered: dict[int, bool] = {}
        try:
            found = await orders_seen([_order_keys(c) for c in now])
            ordered = {id(c): seen for c, seen in zip(now, found, strict=True)}
        except Exception as exc:  # each send then checks for itself
            log.warning("batch order check failed: %r", exc)
        except asyncio.CancelledError:
            for claim in self.claims:
                if claim.outcome == "send":
                    await release(self.deps, claim)
            raise
        # A task group, not `gather`: cancelled, it still waits for every send to settle (a
        # `gather` returns at the first cancelled child, while the others are still releasing).
        async with asyncio.TaskGroup() as group:
            tasks = [
                group.create_task(_finish_in_batch(self.deps, c, ordered.get(id(c)), stopping))
                for c in self.claims
            ]
        outcomes = Counter(task.result() for task in tasks)
        outcomes["handed_off"] += len(self.handed_off)
        sends = [c for c in self.claims if c.outcome == "send"]
        return Batch(sends, +outcomes, self.handed_off)


async def claim_batch(deps: Deps, limit: int, skip: list[int] | None = None) -> Claimed:
    """Claim up to `limit` due steps and commit each attempt as `sending`; nothing is sent yet.

    PostgreSQL only: the claim is `FOR UPDATE SKIP LOCKED`. On SQLite no drainer runs
    (`app.recovery.jobs.start_drainers`) and each step's own job sends it."""
    if not is_postgres():
        raise RuntimeError("batch claims need PostgreSQL (FOR UPDATE SKIP LOCKED)")
    due = await peek_due(deps, limit, skip or []) if deps.fresh else []
    prices = await batch_prices(deps, due)
    claimed = await claim_due(deps, limit, skip or [], prices)
    sends = [c for c in claimed.claims if c.outcome == "send"]
    try:
        await forget_jobs(
            deps, [(c.enrollment.id, c.enrollment.next_step) for c in sends if c.enrollment]
        )
        for enrollment in claimed.handed_off:  # slow work first: the step's own job does it
            await schedule(deps.queue, enrollment.id, enrollment.next_step, None)
    except BaseException:  # committed as `sending` but never to be sent by this drainer
        for claim in sends:
            await release(deps, claim)
        raise
    return Claimed(deps, claimed.claims, claimed.handed_off)


async def send_due(deps: Deps, limit: int, skip: list[int] | None = None) -> Batch:
    """Claim up to `limit` due steps, send them concurrently, and say what happened to each."""
    return await (await claim_batch(deps, limit, skip)).send()


def _checks_now(claim: Claim) -> bool:
    """A send about to call its provider at once, with a cart to check for an order."""
    return (
        claim.outcome == "send"
        and not claim.wait
        and claim.checkout is not None
        and claim.store is not None
    )


def _order_keys(claim: Claim) -> OrderKeys:
    assert claim.store is not None and claim.checkout is not None
    return OrderKeys.of(claim.store.id, claim.checkout, claim.contact)


async def _finish(deps: Deps, claim: Claim, ordered: bool | None = None) -> str:
    """After the claim's commit: send what it committed, or follow up on what it decided."""
    if claim.outcome == "send":
        if claim.wait:  # the sender's slot, reserved under the lock once the channel was known
            await asyncio.sleep(claim.wait)
        return await deliver(deps, claim, ordered)
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


async def release(deps: Deps, claim: Claim) -> str:
    """A claimed send no provider heard of, given back: its row is `pending` again (what a
    transient refusal leaves) and its step's job is queued, so the step is sent once, by that
    job, after a restart (or by the sweep, which queues any due step with a row, if Redis loses
    the job). A copy of the job deferred earlier is replaced, so the step does not wait for it."""
    message, enrollment = claim.message, claim.enrollment
    assert message is not None and enrollment is not None
    try:
        await Message.filter(id=message.id, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.PENDING, updated_at=deps.clock()
        )
    except Exception:  # left `sending`: the sweep makes it `unknown`, never resent
        log.exception("could not release a send", extra=ctx(message=message.id))
        return "error"
    key = (enrollment.id, enrollment.next_step)
    try:
        await forget_jobs(deps, [key])
        await schedule(deps.queue, *key, None)
    except Exception as exc:
        log.warning("released send not queued; the sweep queues it: %r", exc)
    return "released"


async def _slot_or_stop(claim: Claim, stopping: asyncio.Event) -> bool:
    """Wait for the send's reserved slot; False when the worker stops first."""
    if claim.wait:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stopping.wait(), claim.wait)
        claim.wait = 0.0
    return not stopping.is_set()


async def _finish_in_batch(
    deps: Deps, claim: Claim, ordered: bool | None = None, stopping: asyncio.Event | None = None
) -> str:
    """Like a job's, but nothing propagates: a step that must wait is queued (a transient
    refusal) or claimed again when due (deferred); a crash is left to the sweep. A send not yet
    handed to its provider when the worker stops (or this is cancelled) is released."""
    enrollment = claim.enrollment
    try:
        sends = claim.outcome == "send"
        if sends and stopping is not None and not await _slot_or_stop(claim, stopping):
            return await release(deps, claim)
        return await _finish(deps, claim, ordered)
    except asyncio.CancelledError:
        if claim.outcome == "send" and not claim.handed:
            await release(deps, claim)
        raise
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

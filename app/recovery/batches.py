"""Batch claims on PostgreSQL: due steps claimed many at a time, then sent concurrently.

One send through `send_step` costs an arq job and about eleven round trips; most of them are the
same for every send (transaction, enrollment lock, contact lock, checkout, store). A drainer in each
worker process claims up to FOLLOWUP_RECOVERY_BATCH_SIZE due steps in one transaction with
`FOR UPDATE SKIP LOCKED` (so drainers of several processes never take the same rows), reads their
contacts and checkouts in two queries, re-checks every rule under those locks and commits each
attempt as `sending`, exactly like a single claim. Only then are the providers called, concurrently,
and each answer is recorded by the same code as a single send.

What stays with `send_step`: steps whose message row already exists (a transient retry waiting for
its backoff, or an attempt in flight or orphaned -- the sweep re-schedules those), steps that need
slow external work before the lock (a discount code, Shopify line-item images), and SQLite. The
per-step jobs of the steps a batch claimed are removed from Redis; a copy that already started finds
the pointer moved or the `sending` row, and stops.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from arq.constants import job_key_prefix, retry_key_prefix
from tortoise import connections

from app.checkouts.models import Checkout, Contact
from app.core.db import is_postgres
from app.core.logging import ctx
from app.messaging.models import Message
from app.recovery.claims import Rows, settle
from app.recovery.delivery import deliver
from app.recovery.history import History
from app.recovery.models import Enrollment, FlowStep, StepChannel
from app.recovery.pipeline import (
    Claim,
    Deps,
    Later,
    Pointer,
    advance,
    job_id,
    needs_preparation,
    ordered_steps,
    schedule,
    schedule_after,
)
from app.stores.services import recent_store

log = logging.getLogger(__name__)

# Due, active, and no message row for the current step yet (those belong to `send_step`).
_DUE = """
SELECT e.id FROM recovery_enrollment e
WHERE e.status = 'active' AND e.next_due_at <= $1 AND NOT (e.id = ANY($3::bigint[]))
  AND NOT EXISTS (
    SELECT 1 FROM message m WHERE m.enrollment_id = e.id AND m.step_index = e.next_step)
ORDER BY e.next_due_at
LIMIT $2
FOR UPDATE OF e SKIP LOCKED
"""


@dataclass
class Claimed:
    claim: Claim
    enrollment: Enrollment
    steps: list[FlowStep]
    rows: Rows


@dataclass
class Batch:
    sends: list[Claimed]
    outcomes: Counter[str]
    handed_off: list[Enrollment]
    next_steps: list[tuple[int, Pointer | None]]


async def send_due(deps: Deps, limit: int, skip: list[int] | None = None) -> Batch:
    """Claim up to `limit` due steps, send them, and say what happened to each.

    PostgreSQL only: the claim is `FOR UPDATE SKIP LOCKED`. On SQLite no drainer runs
    (`jobs.start_drainers`) and each step's own job sends it.
    """
    if not is_postgres():
        raise RuntimeError("batch claims need PostgreSQL (FOR UPDATE SKIP LOCKED)")
    batch = await _claim(deps, limit, skip or [])
    await _forget_jobs(deps, [c.enrollment for c in batch.sends])
    for enrollment in batch.handed_off:
        await schedule(deps.queue, enrollment.id, enrollment.next_step, None)
    for enrollment_id, pointer in batch.next_steps:
        await schedule_after(deps, enrollment_id, pointer)
    results = await asyncio.gather(*(_send(deps, claimed) for claimed in batch.sends))
    batch.outcomes.update(results)
    return batch


async def _claim(deps: Deps, limit: int, skip: list[int]) -> Batch:
    from tortoise.transactions import in_transaction

    batch = Batch([], Counter(), [], [])
    async with in_transaction() as conn:
        found = await conn.execute_query_dict(_DUE, [deps.clock(), limit, skip])
        if not found:
            return batch
        ids = [r["id"] for r in found]
        enrollments = await Enrollment.filter(id__in=ids).using_db(conn)
        enrollments.sort(key=lambda e: (e.next_due_at, e.id))
        # A single-step claim may have committed its row between our snapshot and our lock.
        taken = set(
            await Message.filter(enrollment_id__in=ids, step_index__not_isnull=True)
            .using_db(conn)
            .values_list("enrollment_id", "step_index")
        )
        enrollments = [e for e in enrollments if (e.id, e.next_step) not in taken]
        rows = await _rows(conn, enrollments)
        stores = list({r.store.id: r.store for r in rows.values()}.values())
        texting = [e.checkout_id for e in enrollments if await _may_text(e)]  # type: ignore[attr-defined]
        history = await History.read(conn, enrollments, stores, deps.clock(), texting)
        for enrollment in enrollments:
            await _claim_one(conn, deps, enrollment, rows[enrollment.id], batch, history)
    return batch


async def _may_text(enrollment: Enrollment) -> bool:
    """Whether the step due may send a text (sms or auto): only then is the carrier rule's count read."""
    steps = await ordered_steps(enrollment.flow_id)  # type: ignore[attr-defined]
    index = enrollment.next_step
    return index < len(steps) and steps[index].channel in (StepChannel.SMS, StepChannel.AUTO)


async def _rows(conn: Any, enrollments: list[Enrollment]) -> dict[int, Rows]:
    """Contacts locked in id order (two batches sharing contacts cannot deadlock), checkouts and
    their stores in one query."""
    contact_ids = sorted({e.contact_id for e in enrollments if e.contact_id})  # type: ignore[attr-defined]
    contacts = {
        c.id: c
        for c in await Contact.filter(id__in=contact_ids)
        .order_by("id")
        .select_for_update()
        .using_db(conn)
    }
    checkouts = {
        c.id: c
        for c in await Checkout.filter(id__in=[e.checkout_id for e in enrollments])  # type: ignore[attr-defined]
        .select_related("store")
        .using_db(conn)
    }
    out = {}
    for e in enrollments:
        checkout = checkouts[e.checkout_id]  # type: ignore[attr-defined]
        out[e.id] = Rows(contacts.get(e.contact_id), checkout, checkout.store)  # type: ignore[attr-defined]
    return out


async def _claim_one(
    conn: Any, deps: Deps, enrollment: Enrollment, rows: Rows, batch: Batch, history: History
) -> None:
    steps = await ordered_steps(enrollment.flow_id)  # type: ignore[attr-defined]
    index = enrollment.next_step
    if index >= len(steps):
        await advance(conn, enrollment, index, steps, deps.clock())
        batch.outcomes["completed"] += 1
        return
    if needs_preparation(
        deps, rows.store, steps[index]
    ):  # slow work first: the single-step path does it
        batch.handed_off.append(enrollment)
        batch.outcomes["handed_off"] += 1
        return
    known = history.known(enrollment, rows.store, deps.clock())
    claim = await settle(conn, deps, enrollment, index, steps, rows, known=known)
    if claim.outcome != "send":
        batch.outcomes[claim.outcome] += 1
        if claim.outcome in ("skipped", "failed"):
            batch.next_steps.append((enrollment.id, claim.pointer))
        return
    assert claim.message is not None
    history.sent(enrollment, deps.clock(), str(claim.message.channel))
    batch.sends.append(Claimed(claim, enrollment, steps, rows))


_PLAIN_DUE = """
SELECT e.flow_id, e.store_id FROM recovery_enrollment e
WHERE e.id = $1 AND e.status = 'active' AND e.next_step = $2 AND e.next_due_at <= $3
  AND NOT EXISTS (SELECT 1 FROM message m WHERE m.enrollment_id = e.id AND m.step_index = $2)
"""


async def left_to_drainer(deps: Deps, enrollment_id: int, step_index: int) -> bool:
    """Whether a drainer will send this step (due, batchable, no row yet), so its job can stop."""
    conn = connections.get("default")
    found = await conn.execute_query_dict(_PLAIN_DUE, [enrollment_id, step_index, deps.clock()])
    if not found:
        return False
    steps = await ordered_steps(found[0]["flow_id"])
    if step_index >= len(steps):
        return False
    store = await recent_store(found[0]["store_id"])
    return store is not None and not needs_preparation(deps, store, steps[step_index])


def _s(seconds: float) -> timedelta:
    return timedelta(seconds=seconds)


async def _forget_jobs(deps: Deps, enrollments: list[Enrollment]) -> None:
    """The per-step jobs of claimed steps have nothing left to do: spare every worker the trip."""
    queue = deps.queue
    if queue is None or not enrollments:
        return
    name = getattr(queue, "default_queue_name", None)
    ids = [job_id(e.id, e.next_step) for e in enrollments]
    try:
        async with queue.pipeline(transaction=False) as pipe:
            if name:
                pipe.zrem(name, *ids)
            pipe.delete(*(job_key_prefix + i for i in ids), *(retry_key_prefix + i for i in ids))
            await pipe.execute()
    except Exception as exc:  # harmless: a leftover job finds the step done and stops
        log.warning("could not remove claimed jobs: %s", exc)


async def _send(deps: Deps, claimed: Claimed) -> str:
    if claimed.claim.wait:  # the sender's slot, reserved under the lock
        await asyncio.sleep(claimed.claim.wait)
    enrollment, steps = claimed.enrollment, claimed.steps
    index = enrollment.next_step
    try:
        return await deliver(deps, claimed.claim, claimed.rows.store, enrollment, index, steps)
    except Later as later:  # a transient refusal, back to `pending`: its job retries after backoff
        due = deps.clock() + _s(later.seconds)
        await schedule(deps.queue, enrollment.id, index, due)
        return "retry"
    except Exception:
        message: Message | None = claimed.claim.message
        log.exception(
            "batch send failed; the sweep resolves the attempt",
            extra=ctx(enrollment=enrollment.id, message=message.id if message else None),
        )
        return "error"


HANDOFF_SECONDS = 60.0  # how long a drainer leaves a handed-off step to its job


async def drain(deps: Deps, batch_size: int, stopping: asyncio.Event, idle: float = 0.5) -> None:
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
        except Exception:
            log.exception("recovery batch failed; retrying")
            busy = False
        if not busy:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stopping.wait(), idle)

"""Claiming steps: one transaction locks the enrollments (a step's own, or a batch of due ones),
their contacts and checkouts, reads their history once, and settles every row under those locks.

A single step's job claims a batch of one through the same code as a drainer's batch, so both
send under exactly the same rules; they differ only in which rows they lock:
- `claim_step` waits for its one enrollment's lock; a message row already there is its own to
  resolve (a transient retry, an attempt in flight elsewhere, or an orphan that becomes `unknown`).
- `claim_due` (PostgreSQL) takes up to `limit` due rows with `FOR UPDATE SKIP LOCKED`, so drainers
  of several processes never take the same rows; rows with a message, and steps that need slow
  work first (a discount code, Shopify images), stay with their own job.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout, Contact, Order
from app.core.compiled import insert_many
from app.core.logging import ctx
from app.messaging.models import DeliveryStatus, Message
from app.recovery.flows import ordered_steps
from app.recovery.fresh import Prices
from app.recovery.models import DiscountCode, Enrollment, FlowStep, StepChannel
from app.recovery.sending._attempt import Claim, Rows, settle
from app.recovery.sending._deps import Deps
from app.recovery.sending._facts import History
from app.recovery.sending._pointer import advance, idempotency_key, is_current
from app.recovery.sending._prepare import needs_preparation
from app.stores.models import Store
from app.stores.services import recent_store

log = logging.getLogger(__name__)

FINAL_OR_DONE = frozenset(
    {
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.CANCELLED,
    }
)

_PEEK = """
SELECT e.checkout_id, e.store_id FROM recovery_enrollment e
WHERE e.status = 'active' AND e.next_due_at <= $1 AND NOT (e.id = ANY($3::bigint[]))
  AND NOT EXISTS (
    SELECT 1 FROM message m WHERE m.enrollment_id = e.id AND m.step_index = e.next_step)
ORDER BY e.next_due_at
LIMIT $2
"""
# Due, active, and no message row for the current step yet (those belong to the step's own job).
_DUE = """
SELECT e.id, e.next_due_at FROM recovery_enrollment e
WHERE e.status = 'active' AND e.next_due_at <= $1 AND NOT (e.id = ANY($3::bigint[]))
  AND NOT EXISTS (
    SELECT 1 FROM message m WHERE m.enrollment_id = e.id AND m.step_index = e.next_step)
ORDER BY e.next_due_at
LIMIT $2
FOR UPDATE OF e SKIP LOCKED
"""


@dataclass
class Own:
    """A step's own job: its steps as it read them and the code it prepared before the lock."""

    steps: list[FlowStep]
    discount: DiscountCode | None


@dataclass
class Claims:
    claims: list[Claim] = field(default_factory=list)
    handed_off: list[Enrollment] = field(default_factory=list)  # need slow work: their own job
    # A batch claim's reach: every step due up to this time was taken, left to its own job, or
    # locked by another claim (a partial batch reaches the claim's clock, a full one the due
    # time of its last row). Jobs of later steps know a drainer has yet to come to them.
    reached: datetime | None = None


async def claim_step(
    deps: Deps,
    enrollment_id: int,
    step_index: int,
    steps: list[FlowStep],
    discount: DiscountCode | None,
    prices: Prices | None = None,
) -> Claim:
    """A batch of one: the step's own job, which found it due and prepared it."""
    try:
        async with in_transaction() as conn:
            enrollment = await Enrollment.select_for_update().using_db(conn).get(id=enrollment_id)
            if not is_current(enrollment, step_index):
                return Claim("stale")
            claims = await _claim_rows(conn, deps, [enrollment], Own(steps, discount), prices)
            return claims.claims[0]
    except IntegrityError:  # another worker recorded this step first: it owns the send
        return Claim("stale")


async def peek_due(deps: Deps, limit: int, skip: list[int]) -> list[tuple[int | None, int]]:
    """(checkout id, store id) of what the next claim will likely take, read without locks, so
    the stores' current prices are fetched before the claim holds any row."""
    conn = connections.get("default")
    found = await conn.execute_query_dict(_PEEK, [deps.clock(), limit, skip])
    return [(r["checkout_id"], r["store_id"]) for r in found]


async def claim_due(
    deps: Deps, limit: int, skip: list[int], prices: Prices | None = None
) -> Claims:
    """Up to `limit` due steps no other drainer holds (PostgreSQL: SKIP LOCKED)."""
    now = deps.clock()
    async with in_transaction() as conn:
        found = await conn.execute_query_dict(_DUE, [now, limit, skip])
        reached = found[-1]["next_due_at"] if len(found) >= limit else now
        if not found:
            return Claims(reached=reached)
        enrollments = await Enrollment.filter(id__in=[r["id"] for r in found]).using_db(conn)
        enrollments.sort(key=lambda e: (e.next_due_at, e.id))
        claims = await _claim_rows(conn, deps, enrollments, None, prices)
        claims.reached = reached
        return claims


async def _claim_rows(
    conn: Any, deps: Deps, enrollments: list[Enrollment], own: Own | None, prices: Prices | None
) -> Claims:
    """Every locked row settled: existing attempts resolved (own job only), the rest decided."""
    claims = Claims()
    existing = await _existing(conn, enrollments)
    fresh: list[tuple[Enrollment, Message | None]] = []
    for enrollment in enrollments:
        message = existing.get(enrollment.id)
        if message is None or (own and message.status == DeliveryStatus.PENDING):
            fresh.append((enrollment, message))
        elif own:
            claim = await _resolve_existing(conn, deps, message, enrollment, own)
            claim.enrollment, claim.steps = enrollment, own.steps
            claims.claims.append(claim)
        # else: a batch leaves a step with a message to its own job (a retry, or in flight)
    if not fresh:
        return claims
    locked = [enrollment for enrollment, _ in fresh]
    rows = await _rows(conn, locked)
    history = await _history(conn, deps, locked, rows)
    unwritten: list[Message] | None = None if own else []  # a batch inserts its attempts at once
    for enrollment, pending in fresh:
        steps = (
            own.steps if own else await ordered_steps(enrollment.flow_id, enrollment.abandoned_at)
        )
        row = rows[enrollment.id]
        if own is None and _needs_own_job(deps, enrollment, steps, row):
            claims.handed_off.append(enrollment)
            continue
        row.prices = prices
        claim = await _claim_row(
            conn, deps, enrollment, steps, row, history, pending, own, unwritten
        )
        claim.enrollment, claim.steps, claim.store = enrollment, steps, row.store
        claims.claims.append(claim)
    if unwritten:
        await insert_many(conn, unwritten)
    return claims


async def _claim_row(
    conn: Any,
    deps: Deps,
    enrollment: Enrollment,
    steps: list[FlowStep],
    rows: Rows,
    history: History,
    pending: Message | None,
    own: Own | None,
    unwritten: list[Message] | None = None,
) -> Claim:
    index, now = enrollment.next_step, deps.clock()
    if index >= len(steps):  # the flow lost steps since: nothing left to send
        await advance(conn, enrollment, index, steps, now)
        return Claim("completed")
    known = history.known(enrollment, rows.store, now)
    discount = own.discount if own else None
    claim = await settle(
        conn, deps, enrollment, index, steps, rows, known, pending, discount, unwritten
    )
    if claim.outcome == "send":
        assert claim.message is not None
        history.sent(enrollment, now, str(claim.message.channel))
    return claim


def _needs_own_job(deps: Deps, enrollment: Enrollment, steps: list[FlowStep], rows: Rows) -> bool:
    index = enrollment.next_step
    return index < len(steps) and needs_preparation(deps, rows.store, steps[index])


async def _existing(conn: Any, enrollments: list[Enrollment]) -> dict[int, Message]:
    """The message already recorded for each row's current step, if any (by its unique key)."""
    keys = {idempotency_key(e.id, e.next_step): e.id for e in enrollments}
    found = await Message.filter(idempotency_key__in=list(keys)).using_db(conn)
    return {keys[str(m.idempotency_key)]: m for m in found}


async def _resolve_existing(
    conn: Any, deps: Deps, message: Message, enrollment: Enrollment, own: Own
) -> Claim:
    """A row exists: either it is done (advance), in flight elsewhere (wait), or orphaned (unknown)."""
    now, index, steps = deps.clock(), enrollment.next_step, own.steps
    if message.status in FINAL_OR_DONE:
        pointer = await advance(conn, enrollment, index, steps, now)
        return Claim("advanced", message, pointer=pointer)
    stale_after = timedelta(seconds=deps.settings.recovery.sending_stale_seconds)
    if message.updated_at > now - stale_after:
        return Claim("in_flight", message, until=message.updated_at + stale_after)
    won = (
        await Message.filter(id=message.id, status=DeliveryStatus.SENDING)
        .using_db(conn)
        .update(
            status=DeliveryStatus.UNKNOWN,
            error_message="interrupted during the provider call; not resent to avoid a duplicate",
        )
    )
    if won:
        log.warning("send outcome unknown, not resending", extra=ctx(message=message.id))
    pointer = await advance(conn, enrollment, index, steps, now)
    return Claim("advanced", message, reason="unknown", pointer=pointer)


async def _rows(conn: Any, enrollments: list[Enrollment]) -> dict[int, Rows]:
    """Contacts locked in id order (two claims sharing contacts cannot deadlock), the checkouts in
    one query and their stores in another, each store once; a flow without a cart has only its
    store (and a payment reminder its order, with the checkout it came from, for its lines)."""
    contact_ids = sorted({e.contact_id for e in enrollments if e.contact_id})
    contacts = {
        c.id: c
        for c in await Contact.filter(id__in=contact_ids)
        .order_by("id")
        .select_for_update()
        .using_db(conn)
    }
    checkouts = {
        c.id: c
        for c in await Checkout.filter(
            id__in=[e.checkout_id for e in enrollments if e.checkout_id]
        ).using_db(conn)
    }
    # Each store read once for the whole batch, not joined to every checkout: a store row is
    # wide and its secrets are decrypted as it is read.
    store_ids = {e.store_id for e in enrollments} | {c.store_id for c in checkouts.values()}
    stores = {s.id: s for s in await Store.filter(id__in=store_ids).using_db(conn)}
    bare = [e for e in enrollments if e.checkout_id is None]
    orders, lines = await _cartless(conn, bare) if bare else ({}, {})
    out = {}
    for e in enrollments:
        contact = contacts.get(e.contact_id) if e.contact_id else None
        if e.checkout_id is not None:
            checkout = checkouts[e.checkout_id]
            checkout.store = stores[checkout.store_id]
            out[e.id] = Rows(contact, checkout, checkout.store)
            continue
        order = orders.get(e.order_id) if e.order_id else None
        shown = lines.get(order.checkout_id) if order and order.checkout_id else None
        out[e.id] = Rows(contact, None, stores[e.store_id], order=order, lines=shown)
    return out


async def _cartless(
    conn: Any, enrollments: list[Enrollment]
) -> tuple[dict[int, Order], dict[int, Checkout]]:
    order_ids = [e.order_id for e in enrollments if e.order_id]
    orders = {o.id: o for o in await Order.filter(id__in=order_ids).using_db(conn)}
    origin = [o.checkout_id for o in orders.values() if o.checkout_id]
    lines = {c.id: c for c in await Checkout.filter(id__in=origin).using_db(conn)} if origin else {}
    return orders, lines


async def _history(
    conn: Any, deps: Deps, enrollments: list[Enrollment], rows: dict[int, Rows]
) -> History:
    stores = list({r.store.id: r.store for r in rows.values()}.values())
    texting = [e.checkout_id for e in enrollments if e.checkout_id and await _may_text(e)]
    return await History.read(conn, enrollments, stores, deps.clock(), texting)


async def _may_text(enrollment: Enrollment) -> bool:
    """Whether the step due may send a text (sms or auto): only then is the carrier rule's count read."""
    steps = await ordered_steps(enrollment.flow_id, enrollment.abandoned_at)
    index = enrollment.next_step
    return index < len(steps) and steps[index].channel in (StepChannel.SMS, StepChannel.AUTO)


_PLAIN_DUE = """
SELECT e.flow_id, e.store_id, e.abandoned_at FROM recovery_enrollment e
WHERE e.id = $1 AND e.status = 'active' AND e.next_step = $2 AND e.next_due_at <= $3
  AND NOT EXISTS (SELECT 1 FROM message m WHERE m.enrollment_id = e.id AND m.step_index = $2)
"""


async def left_to_drainer(deps: Deps, enrollment_id: int, step_index: int) -> bool:
    """Whether a drainer will send this step (due, batchable, no row yet), so its job can stop."""
    conn = connections.get("default")
    found = await conn.execute_query_dict(_PLAIN_DUE, [enrollment_id, step_index, deps.clock()])
    if not found:
        return False
    steps = await ordered_steps(found[0]["flow_id"], found[0]["abandoned_at"])
    if step_index >= len(steps):
        return False
    store = await recent_store(found[0]["store_id"])
    return store is not None and not needs_preparation(deps, store, steps[step_index])

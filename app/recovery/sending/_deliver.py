"""The send itself, after the claim's commit: the last order check, the provider call through
`app.messaging.outbound` (one timeout, contact flags and live frames for every outbound message),
and the answer recorded with the step pointer -- sent, failed for good, retry later, or unknown."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

import asyncpg
from tortoise import connections
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout
from app.core import events
from app.core.db import is_postgres
from app.core.groupcommit import BatchFailed, PerLoop
from app.core.logging import ctx
from app.core.scheduling import dispatch_committed
from app.messaging import addresses, outbound
from app.messaging.models import Channel, DeliveryStatus, Message
from app.messaging.senders import SendResult
from app.recovery import links
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep
from app.recovery.sending._attempt import Claim
from app.recovery.sending._deps import Deps, Later
from app.recovery.sending._facts import order_seen
from app.recovery.sending._pointer import Pointer, advance, next_pointer
from app.recovery.sending._queue import schedule_after
from app.stores.models import Store

log = logging.getLogger(__name__)


async def deliver(deps: Deps, claim: Claim) -> str:
    """Send a claimed step; a transient refusal raises `Later` (the row is `pending` again)."""
    message, enrollment, store = claim.message, claim.enrollment, claim.store
    assert message is not None and enrollment is not None and store is not None
    index, steps = enrollment.next_step, claim.steps
    # The send starts here: an order acknowledged before this check stops it.
    log.debug("last order check", extra=ctx(message=message.id))
    if claim.checkout is not None:
        checked = claim.ordered is not None and not claim.wait
        if claim.ordered if checked else await order_seen(store.id, claim.checkout, claim.contact):
            return await _ordered_meanwhile(deps, message, enrollment)
    attempts = enrollment.attempts + 1

    async def record_sent(result: SendResult, at: datetime) -> tuple[bool, Any]:
        outcome = Outcome(result.segments or message.segments, result, at)
        recorded = await durably(lambda: record_success(message, enrollment, index, steps, outcome))
        if recorded.event_id is not None:  # webhooks and Segment hear of it now, not at the sweep
            await dispatch_committed(deps.queue, recorded.event_id)
        return recorded.won, recorded.pointer

    async def also_on_failure(conn: Any, now: datetime) -> Pointer | None:
        return await advance(conn, enrollment, index, steps, now)

    delivery = await outbound.send(
        message,
        deps.providers,
        deps.settings,
        email=_email(message, store),
        retry=attempts < deps.settings.recovery.send_max_attempts,
        record_sent=record_sent,
        also_on_failure=also_on_failure,
        clock=deps.clock,
        announce_sending=False,  # nobody waits on it: the outcome is announced, once
    )
    if delivery.outcome == outbound.RETRY:
        assert delivery.error is not None
        await Enrollment.filter(id=enrollment.id).update(attempts=attempts)
        raise Later(min(2**attempts * 5, 600), f"transient provider error {delivery.error.code}")
    await schedule_after(deps, enrollment.id, delivery.also)
    return delivery.outcome


def _email(message: Message, store: Store) -> outbound.Email | None:
    """Recovery email carries one-click unsubscribe, and the shopper's reply address as its
    Reply-To (`outbound` adds it; the store's own Reply-To when reply addresses are off)."""
    if message.channel != Channel.EMAIL:
        return None
    unsubscribe = links.unsubscribe_url(message.contact_id)
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    return outbound.Email(headers=headers, reply_to=addresses.store_reply_to(store))


ORDERED = "order_placed"


async def _ordered_meanwhile(deps: Deps, message: Message, enrollment: Enrollment) -> str:
    """An order was acknowledged after the claim (it may still wait in the raw-event queue): the
    attempt is cancelled before any provider hears of it, and the sequence stops."""
    now = deps.clock()
    async with in_transaction() as conn:
        await (
            Message.filter(id=message.id, status=DeliveryStatus.SENDING)
            .using_db(conn)
            .update(
                status=DeliveryStatus.CANCELLED,
                error_message="the shopper placed an order before it was sent",
                updated_at=now,
            )
        )
        await (
            Enrollment.filter(id=enrollment.id, status=EnrollmentStatus.ACTIVE)
            .using_db(conn)
            .update(
                status=EnrollmentStatus.STOPPED,
                stop_reason=ORDERED,
                stopped_at=now,
                next_due_at=None,
            )
        )
    log.info("send stopped by an order seen at capture", extra=ctx(message=message.id))
    return "stopped"


@dataclass
class Outcome:
    segments: int
    result: SendResult
    at: datetime

    @property
    def status(self) -> DeliveryStatus:
        """What the provider answered (queued, sent...): the status a `sending` row moves to."""
        return self.result.status

    def done(self) -> dict[str, Any]:
        """Fields written whoever wins the status race (a callback may already know more)."""
        return {
            "provider": self.result.provider,
            "provider_id": self.result.provider_id,
            "sent_at": self.at,
            "error_code": None,
            "error_message": None,
            "updated_at": self.at,
        }


# One statement, so one round trip and atomic without BEGIN/COMMIT. Every data-modifying CTE runs
# whether or not it is read; each keeps the condition of its ORM twin below.
_RECORD_SQL = """
WITH m AS (
  UPDATE "message" SET
    "status" = CASE WHEN "status" = 'sending' THEN $2 ELSE "status" END,
    "segments" = CASE WHEN "status" = 'sending' THEN $3 ELSE "segments" END,
    "provider" = $4, "provider_id" = $5, "sent_at" = $6, "updated_at" = $6,
    "error_code" = NULL, "error_message" = NULL,
    "email_headers" = COALESCE($17::text::jsonb, "email_headers")
  WHERE "id" = $1 RETURNING ("status" = $2) AS won
), c AS (
  UPDATE "checkout" SET "recovery_contacted_at" = $6
  WHERE "id" = $7 AND "recovery_contacted_at" IS NULL RETURNING 1
), e AS (
  UPDATE "recovery_enrollment" SET
    "next_step" = $9, "next_due_at" = $10, "attempts" = 0,
    "status" = CASE WHEN $11::boolean AND "status" = 'active' THEN 'completed' ELSE "status" END,
    "completed_at" = CASE WHEN $11::boolean AND "status" = 'active' THEN $6 ELSE "completed_at" END
  WHERE "id" = $8 AND "next_step" = $12 RETURNING ("status" = 'active') AS live
), o AS (
  INSERT INTO "outbox_event" ("store_id", "name", "subject_id", "payload", "created_at",
                              "attempts", "dedupe_key")
  VALUES ($13, $14, $1, $15::text::jsonb, $6, 0, $16)
  ON CONFLICT ("dedupe_key") DO NOTHING RETURNING "id"
)
SELECT (SELECT won FROM m) AS won, (SELECT live FROM e) AS live, (SELECT id FROM o) AS event_id
"""


@dataclass
class Recorded:
    """What recording an answer did: `won` is False when a status callback got there first (its
    status stands); `pointer` is where the enrollment went (None: it was moved already)."""

    won: bool
    pointer: Pointer | None
    event_id: int | None = None  # the `message.sent` outbox row, when this write announced it


async def record_success(
    message: Message,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    outcome: Outcome,
) -> Recorded:
    """Sent: record the answer, the first contact, the next step and `message.sent` at once."""
    if not is_postgres():
        return await _record_with_orm(message, enrollment, step_index, steps, outcome)
    pointer = next_pointer(enrollment.abandoned_at, step_index, steps)
    last = pointer.due is None
    r = outcome.result
    values = [message.id, outcome.status, outcome.segments, r.provider, r.provider_id, outcome.at]
    values += [message.checkout_id, enrollment.id, pointer.step, pointer.due, last, step_index]
    sent = events.MESSAGE_SENT  # the outbox row `outbound.record_sent_event` writes on SQLite
    payload = json.dumps(outbound.sent_event_payload(message))
    values += [
        message.store_id,
        sent,
        payload,
        events.dedupe_key(sent, message.store_id, message.id),
        json.dumps(message.email_headers) if message.email_headers else None,
    ]
    try:
        row = await _RECORDS.submit(values)
    except BatchFailed:  # the shared commit failed (a deadlock, a lost connection): this one alone
        row = (await _write_records([values]))[0]
    live = row.get("live")
    moved = None if live is None else Pointer(pointer.step, pointer.due if live else None)
    event_id = row.get("event_id")
    return Recorded(bool(row.get("won")), moved, int(event_id) if event_id is not None else None)


_CHECKOUT_ARG = 6  # $7 of _RECORD_SQL: the checkout whose row an answer may lock


async def _write_records(batch: Sequence[list[Any]]) -> list[dict[str, Any]]:
    """Answers that arrived together are recorded in one transaction: one commit (one WAL flush)
    for all of them instead of one each, the flush being what bounds a busy worker's sends. In
    checkout order, so two processes' batches lock shared rows in the same order."""
    if len(batch) == 1:
        _, rows = await connections.get("default").execute_query(_RECORD_SQL, batch[0])
        return [rows[0] if rows else {}]
    out: list[dict[str, Any]] = [{} for _ in batch]
    async with in_transaction() as conn:
        for i in sorted(range(len(batch)), key=lambda i: batch[i][_CHECKOUT_ARG] or 0):
            _, rows = await conn.execute_query(_RECORD_SQL, batch[i])
            out[i] = rows[0] if rows else {}
    return out


# Per event loop: a worker's concurrent sends share the commits of their answers.
_RECORDS: PerLoop[list[Any], dict[str, Any]] = PerLoop(_write_records, max_batch=64)


async def _record_with_orm(
    message: Message,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    outcome: Outcome,
) -> Recorded:
    """The same writes for SQLite, which has no data-modifying CTEs: one short transaction."""
    done = outcome.done() | outbound.kept_headers(message)
    async with in_transaction() as conn:
        won = (
            await Message.filter(id=message.id, status=DeliveryStatus.SENDING)
            .using_db(conn)
            .update(status=outcome.status, segments=outcome.segments, **done)
        )
        if not won:
            await Message.filter(id=message.id).using_db(conn).update(**done)
        if message.checkout_id is not None:
            await (
                Checkout.filter(id=message.checkout_id, recovery_contacted_at=None)
                .using_db(conn)
                .update(recovery_contacted_at=outcome.at)
            )
        pointer = await advance(conn, enrollment, step_index, steps, outcome.at)
        event_id = await outbound.record_sent_event(message, conn)
    return Recorded(bool(won), pointer, event_id)


DB_RETRY_DELAYS = (0.1, 0.5, 1.0, 2.0, 4.0)
T = TypeVar("T")


async def durably(write: Callable[[], Awaitable[T]]) -> T:
    """Record a provider's answer even across a database restart: losing it would make the send
    `unknown` although we know exactly what happened."""
    for delay in DB_RETRY_DELAYS:
        try:
            return await write()
        except (
            OSError,
            asyncpg.PostgresConnectionError,
            asyncpg.InterfaceError,
            asyncpg.exceptions.OperatorInterventionError,
        ) as exc:
            log.warning("database unavailable while recording a send, retrying: %r", exc)
            await asyncio.sleep(delay)
    return await write()

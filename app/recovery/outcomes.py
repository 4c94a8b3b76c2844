"""Recording a provider's acceptance: the message, the checkout's first contact and the step pointer."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout
from app.core.db import is_postgres
from app.messaging.models import DeliveryStatus, Message
from app.messaging.senders import SendResult
from app.recovery.models import Enrollment, FlowStep
from app.recovery.pipeline import Pointer, advance, next_pointer


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

    def apply(self, message: Message) -> None:
        """Mirror what was written onto the row in hand, for listeners (no read back)."""
        for name, value in self.done().items():
            setattr(message, name, value)
        message.status = self.status  # type: ignore[assignment]
        message.segments = self.segments


# One statement, so one round trip and atomic without BEGIN/COMMIT. Every data-modifying CTE runs
# whether or not it is read; each keeps the condition of its ORM twin below.
_RECORD_SQL = """
WITH m AS (
  UPDATE "message" SET
    "status" = CASE WHEN "status" = 'sending' THEN $2 ELSE "status" END,
    "segments" = CASE WHEN "status" = 'sending' THEN $3 ELSE "segments" END,
    "provider" = $4, "provider_id" = $5, "sent_at" = $6, "updated_at" = $6,
    "error_code" = NULL, "error_message" = NULL
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
)
SELECT (SELECT won FROM m) AS won, (SELECT live FROM e) AS live
"""


@dataclass
class Recorded:
    """What recording an answer did: `won` is False when a status callback got there first (its
    status stands); `pointer` is where the enrollment went (None: it was moved already)."""

    won: bool
    pointer: Pointer | None


async def record_success(
    message: Message,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    outcome: Outcome,
) -> Recorded:
    """Sent: record the answer, the first contact and the next step at once."""
    if not is_postgres():
        return await _record_with_orm(message, enrollment, step_index, steps, outcome)
    pointer = next_pointer(enrollment.abandoned_at, step_index, steps)
    last = pointer.due is None
    r = outcome.result
    values = [message.id, outcome.status, outcome.segments, r.provider, r.provider_id, outcome.at]
    values += [message.checkout_id, enrollment.id, pointer.step, pointer.due, last, step_index]  # type: ignore[attr-defined]
    _, rows = await connections.get("default").execute_query(_RECORD_SQL, values)
    row = rows[0] if rows else {}
    live = row.get("live")
    moved = None if live is None else Pointer(pointer.step, pointer.due if live else None)
    return Recorded(bool(row.get("won")), moved)


async def _record_with_orm(
    message: Message,
    enrollment: Enrollment,
    step_index: int,
    steps: list[FlowStep],
    outcome: Outcome,
) -> Recorded:
    """The same writes for SQLite, which has no data-modifying CTEs: one short transaction."""
    done = outcome.done()
    async with in_transaction() as conn:
        won = (
            await Message.filter(id=message.id, status=DeliveryStatus.SENDING)
            .using_db(conn)
            .update(status=outcome.status, segments=outcome.segments, **done)
        )
        if not won:
            await Message.filter(id=message.id).using_db(conn).update(**done)
        await (
            Checkout.filter(id=message.checkout_id, recovery_contacted_at=None)  # type: ignore[attr-defined]
            .using_db(conn)
            .update(recovery_contacted_at=outcome.at)
        )
        pointer = await advance(conn, enrollment, step_index, steps, outcome.at)
    return Recorded(bool(won), pointer)

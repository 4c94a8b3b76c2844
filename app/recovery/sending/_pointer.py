"""The step pointer (`Enrollment.next_step` / `next_due_at`): what is due, moved once per step."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from app.recovery import rules
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep


def idempotency_key(enrollment_id: int, step: int) -> str:
    """The one message a step may ever have: the database refuses a second row with this key."""
    return f"enrollment:{enrollment_id}:step:{step}"


@dataclass(frozen=True)
class Pointer:
    """Where an enrollment's pointer went: the next step and when it is due (None: nothing to
    schedule -- the flow ended, or the enrollment is no longer active)."""

    step: int
    due: datetime | None


def is_current(enrollment: Enrollment | None, step_index: int) -> bool:
    return (
        enrollment is not None
        and enrollment.status == EnrollmentStatus.ACTIVE
        and enrollment.next_step == step_index
    )


def next_pointer(abandoned_at: datetime, step_index: int, steps: list[FlowStep]) -> Pointer:
    """The step after `step_index` and its due time; pure, so advance and the recording SQL agree."""
    nxt = step_index + 1
    if nxt >= len(steps):
        return Pointer(nxt, None)
    return Pointer(nxt, rules.step_due(abandoned_at, steps[nxt].delay_seconds))


async def advance(
    conn: Any, enrollment: Enrollment, step_index: int, steps: list[FlowStep], now: datetime
) -> Pointer | None:
    """Move the pointer past `step_index` once (conditional on it still being there); None when
    it was not there any more (someone else moved it, and schedules what follows)."""
    pointer = next_pointer(enrollment.abandoned_at, step_index, steps)
    query = Enrollment.filter(id=enrollment.id, next_step=step_index)
    if conn is not None:
        query = query.using_db(conn)
    moved = {"next_step": pointer.step, "next_due_at": pointer.due, "attempts": 0}
    active = query.filter(status=EnrollmentStatus.ACTIVE)
    if pointer.due is None:
        done = {"status": EnrollmentStatus.COMPLETED, "completed_at": now}
        if await active.update(**moved, **done):
            return pointer
    elif await active.update(**moved):
        return pointer
    # Not active (stopped while its step was in flight): the pointer still moves, nothing follows.
    return Pointer(pointer.step, None) if await query.update(**moved) else None

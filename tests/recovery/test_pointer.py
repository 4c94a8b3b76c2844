"""The step pointer: moved once, and what follows is scheduled from what the move knew."""

from __future__ import annotations

from datetime import timedelta

from app.messaging.models import DeliveryStatus, Message
from app.messaging.senders import SendResult
from app.recovery import rules
from app.recovery.flows import ordered_steps
from app.recovery.models import Enrollment, EnrollmentStatus
from app.recovery.sending import run_step
from app.recovery.sending._claim import claim_step
from app.recovery.sending._deliver import Outcome, record_success
from app.recovery.sending._pointer import Pointer, advance, next_pointer
from app.recovery.sending._queue import job_id
from tests.recovery.conftest import abandoned


async def test_next_pointer_is_the_following_step_or_the_end(deps, store, clock):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    steps = await ordered_steps(enrollment.flow_id)
    due = rules.step_due(enrollment.abandoned_at, steps[1].delay_seconds)
    assert next_pointer(enrollment.abandoned_at, 0, steps) == Pointer(1, due)
    assert next_pointer(enrollment.abandoned_at, len(steps) - 1, steps) == Pointer(len(steps), None)


async def test_advance_moves_once_and_says_so(deps, store, clock):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    steps = await ordered_steps(enrollment.flow_id)
    due = rules.step_due(enrollment.abandoned_at, steps[1].delay_seconds)
    assert await advance(None, enrollment, 0, steps, clock.now) == Pointer(1, due)
    assert await advance(None, enrollment, 0, steps, clock.now) is None  # moved already
    await enrollment.refresh_from_db()
    assert enrollment.next_step == 1 and enrollment.next_due_at == due

    last = len(steps) - 1
    await Enrollment.filter(id=enrollment.id).update(next_step=last)
    assert await advance(None, enrollment, last, steps, clock.now) == Pointer(len(steps), None)
    await enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED and enrollment.completed_at == clock.now


async def test_advance_on_a_stopped_enrollment_moves_but_schedules_nothing(deps, store, clock):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    steps = await ordered_steps(enrollment.flow_id)
    await Enrollment.filter(id=enrollment.id).update(status=EnrollmentStatus.STOPPED)
    assert await advance(None, enrollment, 0, steps, clock.now) == Pointer(1, None)
    await enrollment.refresh_from_db()
    assert enrollment.next_step == 1 and enrollment.status == EnrollmentStatus.STOPPED


async def test_a_send_queues_its_next_step(deps, store, clock, fake_twilio, queue):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await run_step(deps, enrollment.id, 0) == "sent"
    assert await queue.exists(f"arq:job:{job_id(enrollment.id, 1)}")


async def test_recording_says_whether_it_moved_the_pointer(deps, store, clock):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    steps = await ordered_steps(enrollment.flow_id)
    claim = await claim_step(deps, enrollment.id, 0, steps, None)
    assert claim.outcome == "send" and claim.message is not None
    result = SendResult("twilio", "SM1", DeliveryStatus.QUEUED, 1)
    outcome = Outcome(1, result, clock.now)
    due = rules.step_due(enrollment.abandoned_at, steps[1].delay_seconds)

    recorded = await record_success(claim.message, enrollment, 0, steps, outcome)
    assert recorded.won and recorded.pointer == Pointer(1, due)
    again = await record_success(claim.message, enrollment, 0, steps, outcome)
    assert again.pointer is None  # the pointer moved already: nothing to schedule
    assert (await Message.get(id=claim.message.id)).status == DeliveryStatus.QUEUED


async def test_recording_for_a_stopped_enrollment_schedules_nothing(deps, store, clock):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    steps = await ordered_steps(enrollment.flow_id)
    claim = await claim_step(deps, enrollment.id, 0, steps, None)
    assert claim.message is not None
    await Enrollment.filter(id=enrollment.id).update(status=EnrollmentStatus.STOPPED)
    result = SendResult("twilio", "SM2", DeliveryStatus.QUEUED, 1)
    outcome = Outcome(1, result, clock.now)
    recorded = await record_success(claim.message, enrollment, 0, steps, outcome)
    assert recorded.won and recorded.pointer == Pointer(1, None)
    await enrollment.refresh_from_db()
    assert enrollment.next_step == 1 and enrollment.status == EnrollmentStatus.STOPPED

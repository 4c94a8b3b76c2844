"""What the outbound integrations hear of: each send, stop and assignment is written to the event
outbox in the transaction of the change itself, once, so a crash can lose neither."""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from app.accounts.models import Agent, Role
from app.core.outbox import OutboxEvent
from app.messaging import outbound
from app.messaging.models import Message
from app.recovery import services
from app.recovery.sending import run_step
from inbox.models import Conversation
from inbox.services import claim_if_unassigned
from tests.recovery.conftest import abandoned


async def test_a_sent_step_announces_message_sent_once(deps, store, clock, queue):
    _, enrollment = await abandoned(store, clock.now - timedelta(hours=2))
    assert await run_step(deps, enrollment.id, 0) == "sent"
    message = await Message.get(enrollment_id=enrollment.id, step_index=0)
    [event] = await OutboxEvent.filter(name="message.sent", subject_id=message.id)
    assert event.store_id == store.id and event.payload == {"by": "automation"}
    assert event.dispatched_at is None  # written with the send; the dispatcher takes it from here
    assert await queue.exists(f"arq:job:event:{event.id}")  # queued at once, not at the sweep


async def test_recording_a_send_twice_announces_it_once(deps, store, clock):
    _, enrollment = await abandoned(store, clock.now - timedelta(hours=2))
    assert await run_step(deps, enrollment.id, 0) == "sent"
    message = await Message.get(enrollment_id=enrollment.id, step_index=0)
    async with in_transaction() as conn:
        assert await outbound.record_sent_event(message, conn) is None
    assert await OutboxEvent.filter(name="message.sent", subject_id=message.id).count() == 1


async def test_stopping_announces_enrollment_stopped_once(deps, store, clock):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(hours=2))
    assert await services.stop(enrollment.id, "agent")
    assert not await services.stop(enrollment.id, "agent")  # already stopped: no second event
    [event] = await OutboxEvent.filter(name="enrollment.stopped", subject_id=enrollment.id)
    assert event.payload == {"reason": "agent", "checkout_id": checkout.id}


async def test_the_agent_who_takes_a_thread_is_announced_and_the_loser_is_not(store, clock):
    checkout, _ = await abandoned(store, clock.now - timedelta(hours=2))
    first, second = [
        await Agent.create(
            store=store, email=f"{name}@tidewater.example", name=name, role=Role.AGENT
        )
        for name in ("nia", "omar")
    ]
    conv = await Conversation.create(
        store=store, contact_id=checkout.contact_id, checkout=checkout, opened_at=clock.now
    )
    assert await claim_if_unassigned(conv, first.id)
    assert not await claim_if_unassigned(conv, second.id)
    [event] = await OutboxEvent.filter(name="conversation.assigned", subject_id=conv.id)
    assert event.payload["agent_id"] == first.id
    assert (await Conversation.get(id=conv.id)).assignee_id == first.id

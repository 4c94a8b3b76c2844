"""The lean inbound path: concurrent deliveries stay exact, and the live frame matches what is stored."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta
from typing import Any

from app.checkouts.models import Checkout, CheckoutStatus, ConsentEvent, Contact
from app.core.outbox import OutboxEvent
from app.core.timeutil import utcnow
from app.messaging.models import Message
from inbox import live, services
from inbox.models import Conversation, ConversationStatus
from inbox.schemas import message_json
from tests.inbox.conftest import SHOPPER, agent_session, store_with_number


async def test_simultaneous_first_texts_from_a_new_number_share_one_contact_and_thread(
    client, text_in
):
    """Some of these find no thread yet, others the one just opened: none may wait on another."""
    await store_with_number()
    numbers = [SHOPPER, "+14155550174", "+14155550175"]
    sends = [text_in(f"hello {i}", from_=numbers[i % 3]) for i in range(24)]
    responses = await asyncio.gather(*sends)
    assert [r.status_code for r in responses] == [200] * 24
    contacts = {c.phone: c.id for c in await Contact.all()}
    assert sorted(contacts) == sorted(numbers)
    convs = await Conversation.all()
    assert sorted(c.contact_id for c in convs) == sorted(contacts.values())
    assert [c.inbound_count for c in convs] == [8, 8, 8]
    assert await Message.all().count() == 24


async def test_simultaneous_redeliveries_of_a_stop_are_kept_once(client, text_in):
    await store_with_number()
    sid = "SM" + "c" * 32
    responses = await asyncio.gather(*[text_in("STOP", sid=sid) for _ in range(5)])
    assert [r.status_code for r in responses] == [200] * 5
    assert await Message.all().count() == 1
    assert await ConsentEvent.all().count() == 1
    assert await OutboxEvent.filter(name="contact.opted_out").count() == 1
    assert (await Conversation.get()).inbound_count == 1
    assert (await Contact.get()).sms_opted_out_at is not None


def _wire(value: Any) -> Any:
    """What a value looks like after the JSON trip to the browser."""
    return json.loads(json.dumps(value, default=str))


async def _frames(redis: Any, store_id: int) -> Any:
    pubsub = redis.pubsub()
    await pubsub.subscribe(live.channel_for(store_id))
    await pubsub.get_message(timeout=1)  # the subscribe confirmation
    return pubsub


async def _next_message_frame(pubsub: Any) -> dict[str, Any]:
    for _ in range(50):
        raw = await pubsub.get_message(ignore_subscribe_messages=True, timeout=0.2)
        if raw and (frame := json.loads(raw["data"]))["type"] == "message":
            return frame
    raise AssertionError("no message frame published")


async def test_the_live_frame_describes_the_conversation_as_stored(client, text_in, redis):
    """Built from rows in hand, the frame must equal a fresh read: reopened, re-linked, assigned."""
    store = await store_with_number()
    agent, _, _ = await agent_session(redis, store, "ana@shop.example")
    contact = await Contact.create(store=store, phone=SHOPPER, first_name="Maya")
    now = utcnow()
    await Conversation.create(
        store=store,
        contact=contact,
        assignee=agent,
        status=ConversationStatus.CLOSED,
        closed_at=now - timedelta(days=1),
        opened_at=now - timedelta(days=2),
        inbound_count=3,
    )
    cart = await Checkout.create(
        store=store,
        contact=contact,
        platform="custom",
        token="t1",
        status=CheckoutStatus.ABANDONED,
        last_activity_at=now,
        total=48,
    )
    pubsub = await _frames(redis, store.id)
    await text_in("Is it still in stock?")
    frame = await _next_message_frame(pubsub)
    await pubsub.aclose()
    conv = await Conversation.get()
    msg = await Message.get()
    assert conv.status == ConversationStatus.OPEN and conv.checkout_id == cart.id
    assert frame["conversation"] == _wire(await services.summary(conv))
    assert frame["conversation"]["assignee"] == {"id": agent.id, "name": agent.name}
    expected = {**message_json(msg), "conversation_id": conv.id}
    assert frame["message"] == _wire(expected)


async def test_a_first_text_publishes_an_unassigned_new_thread(client, text_in, redis):
    store = await store_with_number()
    pubsub = await _frames(redis, store.id)
    await text_in("hi there")
    frame = await _next_message_frame(pubsub)
    await pubsub.aclose()
    conv = await Conversation.get()
    assert frame["conversation"] == _wire(await services.summary(conv))
    assert frame["conversation"]["assignee"] is None and frame["conversation"]["inbound_count"] == 1

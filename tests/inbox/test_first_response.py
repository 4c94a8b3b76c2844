"""First-response time through the real paths: texts and emails in, agents' replies out, reopened
threads, keywords, two agents at once; stored figures and what the API shows."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from app.messaging.models import Message
from app.stores.models import Store
from inbox import replies, services
from inbox.models import Conversation, ConversationStatus, FirstResponse
from tests.inbox.conftest import agent_session, store_with_number
from tests.inbox.test_api import _conversation
from tests.inbox.test_email_replies import (  # noqa: F401  fixtures
    email_settings,
    emailed_in,
    outgoing,
)


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value)


async def _reply(api, conv_id: int, body: str, client_id: str):
    response = await api.post(
        f"/inbox/api/v1/conversations/{conv_id}/messages",
        json={"body": body, "client_id": client_id},
    )
    assert response.status_code == 201, response.text
    return response


async def _first_response(api, conv_id: int) -> dict | None:
    data = (await api.get(f"/inbox/api/v1/conversations/{conv_id}")).json()
    return data["conversation"]["first_response"]


async def test_sms_clock_starts_on_the_first_unanswered_text_and_stops_on_the_agent_reply(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio
):
    store = await store_with_number()
    agent, token, csrf = await agent_session(redis, store, "nia@shop.example")
    api = as_agent(token, csrf)
    conv = await _conversation(text_in, "Is the sage one in stock?")
    first_in = await Message.get(conversation_id=conv.id, direction="inbound")
    clock = await _first_response(api, conv.id)
    assert clock["channel"] == "sms" and clock["answered_at"] is None
    assert _at(clock["waiting_since"]) == first_in.created_at
    assert _at(clock["due_at"]) - _at(clock["waiting_since"]) == timedelta(minutes=5)
    # a second text while waiting does not move the start; a note does not answer
    assert (await text_in("hello??")).status_code == 200
    note = await api.post(
        f"/inbox/api/v1/conversations/{conv.id}/notes",
        json={"body": "checking stock", "client_id": "n-0001-abcdef"},
    )
    assert note.status_code == 201, note.text
    assert (await _first_response(api, conv.id))["waiting_since"] == clock["waiting_since"]
    assert not await FirstResponse.exists(conversation_id=conv.id)

    await _reply(api, conv.id, "Yes, 3 left.", "c-0100-abcdef")
    reply = await Message.get(conversation_id=conv.id, author="agent")
    done = await _first_response(api, conv.id)
    assert _at(done["answered_at"]) == reply.created_at
    [row] = await FirstResponse.filter(conversation_id=conv.id)
    assert (
        row.seconds
        == done["seconds"]
        == int((reply.created_at - first_in.created_at).total_seconds())
    )
    assert (row.channel, row.target_seconds, row.agent_id) == ("sms", 300, agent.id)
    assert done["within_target"] is True
    # answered: later texts and replies in the same opening measure nothing more
    assert (await text_in("thanks!")).status_code == 200
    await _reply(api, conv.id, "You're welcome", "c-0101-abcdef")
    assert await FirstResponse.filter(conversation_id=conv.id).count() == 1
    listed = (await api.get("/inbox/api/v1/conversations?view=all&status=open")).json()
    assert listed["conversations"][0]["first_response"]["seconds"] == row.seconds


async def test_a_reopened_thread_is_measured_again_and_keywords_start_nothing(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio
):
    store = await store_with_number()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    api = as_agent(token, csrf)
    conv = await _conversation(text_in, "Question about my cart")
    await _reply(api, conv.id, "Sure, ask away", "c-0200-abcdef")
    await services.set_status(store.id, conv.id, ConversationStatus.CLOSED)
    # HELP reopens the thread (it is a message) but asks nothing of an agent
    assert (await text_in("HELP")).status_code == 200
    reopened = await Conversation.get(id=conv.id)
    assert reopened.status == ConversationStatus.OPEN
    assert await _first_response(api, conv.id) is None
    assert (await text_in("Do you ship to Canada?")).status_code == 200
    clock = await _first_response(api, conv.id)
    assert clock["answered_at"] is None
    await _reply(api, conv.id, "We do!", "c-0201-abcdef")
    rows = await FirstResponse.filter(conversation_id=conv.id).order_by("asked_at")
    assert len(rows) == 2 and rows[1].asked_at == _at(clock["waiting_since"])
    # an agent's Reopen is a new opening too: nothing waits until the shopper writes
    await services.set_status(store.id, conv.id, ConversationStatus.CLOSED)
    await services.set_status(store.id, conv.id, ConversationStatus.OPEN)
    assert await _first_response(api, conv.id) is None


async def test_two_agents_answering_at_once_record_one_first_response(
    client, text_in, redis, inbox_settings, fake_twilio
):
    store = await store_with_number()
    nia, _, _ = await agent_session(redis, store, "nia@shop.example")
    omar, _, _ = await agent_session(redis, store, "omar@shop.example")
    conv = await _conversation(text_in, "Anyone there?")
    await asyncio.gather(
        replies.send_reply(inbox_settings, nia, conv.id, "Hi!", "c-0300-abcdef"),
        replies.send_reply(inbox_settings, omar, conv.id, "Hello!", "c-0301-abcdef"),
    )
    assert await Message.filter(conversation_id=conv.id, author="agent").count() == 2
    [row] = await FirstResponse.filter(conversation_id=conv.id)
    row_conv = await Conversation.get(id=conv.id)
    assert row.answered_at == row_conv.responded_at and row.agent_id in (nia.id, omar.id)


async def test_email_clock_uses_the_stores_email_target(
    client,
    redis,
    as_agent,
    email_settings,  # noqa: F811
    outgoing,  # noqa: F811
):
    conv, _shopper = await emailed_in(email_settings)
    await Store.filter(id=conv.store_id).update(
        settings={"response_targets": {"chat": 10, "sms": 300, "email": 120}}
    )
    store = await Store.get(id=conv.store_id)
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    api = as_agent(token, csrf)
    clock = await _first_response(api, conv.id)
    # the target is fixed when the clock starts: this one started before the change
    assert clock["channel"] == "email" and clock["target_seconds"] == 300
    await _reply(api, conv.id, "Yes, we ship to Canada.", "c-0400-abcdef")
    [row] = await FirstResponse.filter(conversation_id=conv.id)
    assert (row.channel, row.target_seconds) == ("email", 300)
    answered = await Message.get(conversation_id=conv.id, author="agent")
    assert answered.channel == "email"

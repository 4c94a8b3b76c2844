"""Live chat over real websockets on the real app under uvicorn: both directions across two
instances, a shopper who left, tenancy (forged and foreign tokens, foreign ids, origins), limits,
and joining a known shopper's thread without seeing any of it."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from app.checkouts.models import Contact
from app.core.timeutil import utcnow
from app.messaging import chat as delivery
from app.messaging.models import Channel, DeliveryStatus, Direction, Message
from app.stores.models import Store
from inbox import chat
from inbox.models import ChatVisitor, Conversation
from tests.inbox.conftest import SHOPPER, agent_session, signed_headers, sms_form, store_with_number
from tests.inbox.test_live import cookie, next_frame, ws_url

SHOP = "https://shop.example.com"


async def chat_store(domain: str = "shop.example.com", **chat_settings: Any) -> Store:
    store = await store_with_number(domain=domain, name="Velvet Fern Goods")
    hours = {"enabled": True, "start": "00:00", "end": "23:59", "weekends": True}
    store.settings = {**(store.settings or {}), "chat": {**hours, **chat_settings}}
    await store.save(update_fields=["settings"])
    return store


async def session(server: Any, store: Store, origin: str = SHOP, **body: Any) -> httpx.Response:
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{server.url}/chat/v1/session?key={store.publishable_key}",
            content=json.dumps(body),
            headers={"Content-Type": "text/plain", "Origin": origin},
        )


async def visitor_token(server: Any, store: Store, **body: Any) -> str:
    response = await session(server, store, **body)
    assert response.status_code == 200, response.text
    assert response.headers["access-control-allow-origin"] == SHOP
    return response.json()["token"]


def shopper_ws(server: Any, token: str, origin: str = SHOP) -> Any:
    url = ws_url(server, "/chat/v1/ws?token=" + token)
    return websockets.connect(url, additional_headers={"Origin": origin})


def client_id() -> str:
    return uuid.uuid4().hex


async def say(ws: Any, body: str) -> dict[str, Any]:
    cid = client_id()
    await ws.send(json.dumps({"type": "message", "body": body, "client_id": cid}))
    frame = json.loads(await asyncio.wait_for(ws.recv(), 20))
    assert frame.get("client_id") == cid, frame
    return frame


async def agent_reply(server: Any, conv_id: int, token: str, csrf: str, body: str) -> Any:
    async with httpx.AsyncClient() as http:
        return await http.post(
            f"{server.url}/inbox/api/v1/conversations/{conv_id}/messages",
            json={"body": body, "client_id": client_id(), "channel": "chat"},
            headers={**cookie(token), "X-CSRF-Token": csrf},
        )


async def test_messages_go_live_both_ways_across_two_instances(live_servers, redis):
    shop_side, agent_side = await live_servers(), await live_servers()
    store = await chat_store()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    shopper = await visitor_token(shop_side, store)
    async with (
        websockets.connect(ws_url(agent_side), additional_headers=cookie(token)) as agent,
        shopper_ws(shop_side, shopper) as ws,
    ):
        await next_frame(agent, "hello")
        hello = await next_frame(ws, "hello")
        assert hello["open"] is True and hello["messages"] == []
        sent = await say(ws, "Does the <b>sage</b> pillow come in blue?")
        assert sent["type"] == "sent" and sent["author"] == "you"
        frame = await next_frame(agent, "message", 20)
        assert frame["message"]["channel"] == "chat"
        assert frame["message"]["body"] == "Does the <b>sage</b> pillow come in blue?"
        conv_id = frame["message"]["conversation_id"]
        assigned = await next_frame(agent, "conversation", 20)  # round robin, as for a text
        assert assigned["conversation"]["assignee"]["name"] == "nia"

        response = await agent_reply(agent_side, conv_id, token, csrf, "Yes, <i>navy</i> too.")
        assert response.status_code == 201, response.text
        assert response.json()["message"]["status"] == "delivered"
        reply = await next_frame(ws, "message", 20)
        assert reply["author"] == "agent" and reply["body"] == "Yes, <i>navy</i> too."
    stored = await Message.filter(channel=Channel.CHAT).order_by("id")
    assert [m.direction for m in stored] == [Direction.INBOUND, Direction.OUTBOUND]
    assert stored[1].status == DeliveryStatus.DELIVERED and stored[1].provider == "chat"


async def test_a_reply_to_a_shopper_who_left_waits_and_arrives_when_they_return(
    live_servers, redis
):
    server = await live_servers()
    store = await chat_store()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    shopper = await visitor_token(server, store)
    async with shopper_ws(server, shopper) as ws:
        await next_frame(ws, "hello")
        await say(ws, "hello?")
    conv = await Conversation.get(store_id=store.id)
    response = await agent_reply(server, conv.id, token, csrf, "Sorry, we were away")
    assert response.status_code == 201, response.text
    assert response.json()["message"]["status"] == "queued"  # the inbox says they left
    async with shopper_ws(server, shopper) as ws:
        hello = await next_frame(ws, "hello")
        assert [m["body"] for m in hello["messages"]] == ["hello?", "Sorry, we were away"]
    kept = await Message.get(store_id=store.id, direction=Direction.OUTBOUND)
    for _ in range(200):  # the hello is sent before the row is marked; wait on the clock
        await kept.refresh_from_db()
        if kept.status == DeliveryStatus.DELIVERED:
            break
        await asyncio.sleep(0.1)
    assert kept.status == DeliveryStatus.DELIVERED and kept.delivered_at is not None


async def refused(server: Any, token: str, origin: str = SHOP) -> int:
    with pytest.raises(InvalidStatus) as caught:
        async with shopper_ws(server, token, origin):
            pass
    return caught.value.response.status_code


async def test_forged_edited_and_foreign_tokens_are_refused(live_servers):
    server = await live_servers()
    store = await chat_store()
    other = await chat_store(domain="other.example.com")
    real = await visitor_token(server, store)
    store_hex, key, signature = real.split(".")
    assert await refused(server, "garbage") == 403
    assert await refused(server, f"{store_hex}.{key}.{'A' * len(signature)}") == 403
    assert await refused(server, f"{other.id:x}.{key}.{signature}") == 403  # re-pointed at a store
    unknown = chat.visitor_token(store.id, uuid.uuid4().hex)  # signed, but no such visitor
    assert await refused(server, unknown) == 403
    # A token from one store presented to another store's session gets a new visitor, not this one.
    async with httpx.AsyncClient() as http:
        response = await http.post(
            f"{server.url}/chat/v1/session?key={other.publishable_key}",
            content=json.dumps({"token": real}),
            headers={"Origin": "https://other.example.com"},
        )
    assert response.status_code == 200 and response.json()["token"] != real
    assert chat.read_visitor_token(response.json()["token"])[0] == other.id
    assert await refused(server, real, origin="https://evil.example") == 403
    store.settings = {**store.settings, "chat": {"enabled": False}}
    await store.save(update_fields=["settings"])
    assert await refused(server, real) == 403  # chat turned off: no socket


async def test_another_visitors_conversation_is_never_reachable(live_servers):
    server = await live_servers()
    store = await chat_store()
    first, second = await visitor_token(server, store), await visitor_token(server, store)
    async with shopper_ws(server, first) as ws:
        await next_frame(ws, "hello")
        await say(ws, "my address is 12 Elm St")
    theirs = await Conversation.get(store_id=store.id)
    async with shopper_ws(server, second) as ws:
        hello = await next_frame(ws, "hello")
        assert hello["messages"] == []
        cid = client_id()
        frame = {"type": "message", "body": "hi", "client_id": cid, "conversation_id": theirs.id}
        await ws.send(json.dumps(frame))
        await next_frame(ws, "sent")
        await ws.send(json.dumps({"type": "history", "conversation_id": theirs.id}))
        error = await next_frame(ws, "error")
        assert error["code"] == "unknown_frame"
    mine = await Message.get(body="hi")
    assert mine.conversation_id != theirs.id
    assert await Message.filter(conversation_id=theirs.id).count() == 1


async def test_giving_an_email_joins_that_shoppers_thread_and_shows_none_of_it(live_servers):
    server = await live_servers()
    store = await chat_store()
    async with httpx.AsyncClient() as http:  # Jane texted the store before: her thread exists
        form = sms_form("my order number is 1042")
        await http.post(
            server.url + "/webhooks/twilio/sms", data=form, headers=signed_headers(form)
        )
    jane = await Contact.get(phone=SHOPPER)
    await Contact.filter(id=jane.id).update(email="jane@example.com")
    token = await visitor_token(server, store)
    async with shopper_ws(server, token) as ws:
        await next_frame(ws, "hello")
        await say(ws, "I'm chatting now")
        await ws.send(json.dumps({"type": "identify", "email": "Jane@Example.com"}))
        assert (await next_frame(ws, "identified"))["type"] == "identified"
        await say(ws, "still me")
    async with shopper_ws(server, token) as ws:
        hello = await next_frame(ws, "hello")
        assert [m["body"] for m in hello["messages"]] == ["I'm chatting now", "still me"]
    thread = await Conversation.get(store_id=store.id, contact_id=jane.id)
    bodies = (
        await Message.filter(conversation_id=thread.id)
        .order_by("id")
        .values_list("body", flat=True)
    )
    assert bodies == ["my order number is 1042", "I'm chatting now", "still me"]
    assert (await ChatVisitor.get(store_id=store.id)).contact_id == jane.id


async def test_rate_and_size_limits_refuse_with_words_and_store_nothing(live_servers):
    server = await live_servers()
    store = await chat_store()
    token = await visitor_token(server, store)
    async with shopper_ws(server, token) as ws:
        await next_frame(ws, "hello")
        too_long = await say(ws, "x" * 1001)
        assert too_long["type"] == "error" and too_long["code"] == "too_long"
        await ws.send("y" * 5000)
        assert (await next_frame(ws, "error"))["code"] == "too_long"
        for n in range(20):
            assert (await say(ws, f"message {n}"))["type"] == "sent"
        limited = await say(ws, "one too many")
        assert limited["type"] == "error" and limited["code"] == "rate_limited"
        assert "try again" in limited["detail"]
    assert await Message.filter(channel=Channel.CHAT).count() == 20
    assert not await Message.filter(body="one too many").exists()


async def test_the_per_ip_limit_holds_across_visitors(live_servers):
    server = await live_servers()
    store = await chat_store()
    sent = 0
    for _ in range(4):  # four chats from one address, 20 messages each at most
        async with shopper_ws(server, await visitor_token(server, store)) as ws:
            await next_frame(ws, "hello")
            for n in range(20):
                frame = await say(ws, f"n{n}")
                if frame["type"] == "error":
                    assert frame["code"] == "rate_limited"
                    break
                sent += 1
    assert sent == 60  # FOLLOWUP_CHAT_MESSAGES_PER_IP_PER_MINUTE's default


async def test_outside_business_hours_the_chat_says_when_agents_are_back(live_servers):
    server = await live_servers()
    store = await chat_store()
    # Agents in for half an hour, six hours from now in the store's zone: closed whenever this runs.
    local = utcnow().astimezone(ZoneInfo(store.timezone or "UTC"))
    hour = (local.hour + 6) % 24
    store.settings["chat"].update(start=f"{hour:02d}:00", end=f"{hour:02d}:30")
    await store.save(update_fields=["settings"])
    response = await session(server, store)
    body = response.json()
    assert body["open"] is False and body["back_at"] is not None
    token = body["token"]
    async with shopper_ws(server, token) as ws:
        hello = await next_frame(ws, "hello")
        assert hello["open"] is False and hello["back_at"] == body["back_at"]
        await ws.send(json.dumps({"type": "identify", "phone": "not a number"}))
        assert (await next_frame(ws, "error"))["code"] == "bad_contact"
        await ws.send(
            json.dumps({"type": "identify", "email": "sam@example.com", "continue_by": "email"})
        )
        assert (await next_frame(ws, "identified"))["continue_by"] == "email"
    visitor = await ChatVisitor.get(store_id=store.id)
    assert visitor.continue_by == "email"
    assert (await Contact.get(id=visitor.contact_id)).email == "sam@example.com"


async def test_session_refuses_unknown_keys_foreign_origins_and_stores_without_chat(
    live_servers,
):
    server = await live_servers()
    store = await chat_store()
    async with httpx.AsyncClient() as http:
        unknown = await http.post(
            f"{server.url}/chat/v1/session?key=fu_pk_nothing_here", content="{}"
        )
        assert unknown.status_code == 404
    assert (await session(server, store, origin="https://evil.example")).status_code == 403
    store.settings = {**store.settings, "chat": {"enabled": False}}
    await store.save(update_fields=["settings"])
    off = await session(server, store)
    assert off.status_code == 409 and "not turned chat on" in off.json()["detail"]
    assert not await ChatVisitor.exists()


async def test_a_socket_closed_by_the_server_is_not_left_online(live_servers, redis):
    server = await live_servers()
    store = await chat_store()
    token = await visitor_token(server, store)
    store_id, key = chat.read_visitor_token(token)
    async with shopper_ws(server, token) as ws:
        await next_frame(ws, "hello")
        assert await delivery.is_online(redis, store_id, key)
    for _ in range(200):
        if not await delivery.is_online(redis, store_id, key):
            break
        await asyncio.sleep(0.1)
    assert not await delivery.is_online(redis, store_id, key)


async def test_chat_to_a_shopper_who_never_chatted_is_refused_with_a_reason(live_servers, redis):
    server = await live_servers()
    store = await chat_store()
    _, token, csrf = await agent_session(redis, store, "nia@shop.example")
    async with httpx.AsyncClient() as http:
        form = sms_form("hi, by text")
        await http.post(
            server.url + "/webhooks/twilio/sms", data=form, headers=signed_headers(form)
        )
    conv = await Conversation.get(store_id=store.id)
    response = await agent_reply(server, conv.id, token, csrf, "answer by chat?")
    assert response.status_code == 409 and response.json()["error"] == "no_chat"
    assert not await Message.filter(channel=Channel.CHAT).exists()


async def test_a_chat_starts_the_first_response_clock_on_the_chat_target(live_servers, redis):
    """A shopper's chat message starts the thread's clock with the chat target (10 s by default,
    not the 5 minutes of texts and emails); the agent's chat reply stops it and records it."""
    from inbox.models import FirstResponse

    server = await live_servers()
    store = await chat_store()
    agent, token, csrf = await agent_session(redis, store, "nia@shop.example")
    shopper = await visitor_token(server, store)
    async with shopper_ws(server, shopper) as ws:
        await next_frame(ws, "hello")
        await say(ws, "Is the linen throw machine washable?")
        conv = await Conversation.get(store_id=store.id)
        assert conv.response_channel == "chat"
        assert conv.response_started_at is not None and conv.response_due_at is not None
        assert (conv.response_due_at - conv.response_started_at).total_seconds() == 10
        response = await agent_reply(server, conv.id, token, csrf, "Yes, at 30 degrees.")
        assert response.status_code == 201, response.text
    [row] = await FirstResponse.filter(conversation_id=conv.id)
    assert (row.channel, row.target_seconds, row.agent_id) == ("chat", 10, agent.id)

"""Websockets on the real app under uvicorn: live frames, store scoping, cross-instance fan-out."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
import websockets
from websockets.exceptions import InvalidStatus

from app.accounts import sessions
from app.checkouts.models import Contact
from app.core import events
from app.messaging.models import Message
from inbox import services
from inbox.models import Conversation
from tests.inbox.conftest import agent_session, signed_headers, sms_form, store_with_number


def ws_url(server, path: str = "/inbox/ws") -> str:
    return server.url.replace("http://", "ws://") + path


def cookie(token: str) -> dict[str, str]:
    return {"Cookie": f"{sessions.COOKIE}={token}"}


async def next_frame(ws, kind: str, wait_s: float = 5.0) -> dict:
    async def wait() -> dict:
        while True:
            frame = json.loads(await ws.recv())
            if frame.get("type") == kind:
                return frame

    return await asyncio.wait_for(wait(), wait_s)


async def post_sms(server, body: str, to: str = "+12125550199", **kw) -> httpx.Response:
    form = sms_form(body, to=to, **kw)
    async with httpx.AsyncClient() as http:
        return await http.post(
            server.url + "/webhooks/twilio/sms", data=form, headers=signed_headers(form)
        )


async def test_a_shoppers_text_reaches_the_agents_socket_live(live_servers, redis):
    server = await live_servers()
    store = await store_with_number()
    _, token, _ = await agent_session(redis, store, "nia@shop.example")
    async with websockets.connect(ws_url(server), additional_headers=cookie(token)) as ws:
        hello = await next_frame(ws, "hello")
        assert hello["store_id"] == store.id
        assert (await post_sms(server, "Is <b>this</b> in stock?")).status_code == 200
        frame = await next_frame(ws, "message")
        assert frame["message"]["body"] == "Is <b>this</b> in stock?"
        assert frame["message"]["author"] == "shopper"
        assert frame["conversation"]["inbound_count"] == 1
        # round-robin: the only online agent got it
        conv = await Conversation.get()
        assigned = await next_frame(ws, "conversation")
        assert assigned["conversation"]["assignee"]["id"] == conv.assignee_id


async def test_delivery_states_fan_out_from_the_notification(live_servers, redis):
    server = await live_servers()
    store = await store_with_number()
    _, token, _ = await agent_session(redis, store, "nia@shop.example")
    await post_sms(server, "hello")
    msg = await Message.get()
    async with websockets.connect(ws_url(server), additional_headers=cookie(token)) as ws:
        await next_frame(ws, "hello")
        await Message.filter(id=msg.id).update(status="delivered")
        await events.notify(events.MESSAGE_CHANGED, message=await Message.get(id=msg.id))
        frame = await next_frame(ws, "message")
        assert (frame["message"]["id"], frame["message"]["status"]) == (msg.id, "delivered")


async def test_a_batch_of_automated_sends_reaches_the_socket_when_the_batch_ends(
    live_servers, redis
):
    """Recovery sends announced inside `events.batched()`: no frame before the batch ends, then
    one per message with a thread, each the frame the same message gets announced alone."""
    server = await live_servers()
    store = await store_with_number()
    _, token, _ = await agent_session(redis, store, "nia@shop.example")
    stranger = await Contact.create(store_id=store.id, email="nobody@example.com")

    async def automated(contact_id: int, body: str) -> Message:
        return await Message.create(
            store_id=store.id,
            contact_id=contact_id,
            channel="sms",
            direction="outbound",
            author="automation",
            to_address="+12125550100",
            body=body,
            status="sent",
        )

    async with websockets.connect(ws_url(server), additional_headers=cookie(token)) as ws:
        await next_frame(ws, "hello")
        await post_sms(server, "hello")
        await next_frame(ws, "message")
        await next_frame(ws, "conversation")  # assigned to the agent online
        conv = await Conversation.get()
        sends = [
            await automated(conv.contact_id, "Your cart is waiting"),
            await automated(stranger.id, "No thread, no frame"),
            await automated(conv.contact_id, "10% off today"),
        ]
        alone = []
        for msg in (sends[0], sends[2]):
            await events.notify(events.MESSAGE_CHANGED, message=msg)
            alone.append(await next_frame(ws, "message"))
        async with events.batched():
            for msg in sends:
                await events.notify(events.MESSAGE_CHANGED, message=msg)
            with pytest.raises(TimeoutError):
                await next_frame(ws, "message", wait_s=0.3)
        batched = [await next_frame(ws, "message"), await next_frame(ws, "message")]
        assert batched == alone
        with pytest.raises(TimeoutError):  # the message without a thread showed nowhere
            await next_frame(ws, "message", wait_s=0.3)


async def test_no_session_or_a_foreign_origin_cannot_open_a_socket(live_servers, redis):
    server = await live_servers()
    store = await store_with_number()
    _, token, _ = await agent_session(redis, store, "nia@shop.example")
    with pytest.raises(InvalidStatus):
        async with websockets.connect(ws_url(server)):
            pass
    with pytest.raises(InvalidStatus):
        async with websockets.connect(ws_url(server), additional_headers=cookie("forged-token")):
            pass
    with pytest.raises(InvalidStatus):
        async with websockets.connect(
            ws_url(server), additional_headers=cookie(token), origin="https://evil.example"
        ):
            pass


async def test_another_stores_agent_hears_nothing_and_cannot_view_by_forged_id(live_servers, redis):
    server = await live_servers()
    mine = await store_with_number()
    theirs = await store_with_number("other.example.com", "+12125550111")
    _, token, _ = await agent_session(redis, mine, "nia@shop.example")
    _, eve_token, _ = await agent_session(redis, theirs, "eve@other.example")
    async with (
        websockets.connect(ws_url(server), additional_headers=cookie(token)) as ws,
        websockets.connect(ws_url(server), additional_headers=cookie(eve_token)) as eve,
    ):
        await next_frame(ws, "hello")
        eve_hello = await next_frame(eve, "hello")
        assert eve_hello["store_id"] == theirs.id
        await post_sms(server, "private question about my cart")
        await next_frame(ws, "message")
        conv = await Conversation.get()
        # Eve forges the id and asks for the other store's channel; both are refused.
        await eve.send(json.dumps({"type": "viewing", "conversation_id": conv.id}))
        assert (await next_frame(eve, "error"))["code"] == "not_found"
        await eve.send(json.dumps({"type": "subscribe", "store_id": mine.id}))
        assert (await next_frame(eve, "error"))["code"] == "unknown_frame"
        await eve.send(json.dumps({"type": "ping"}))
        seen = []
        while (frame := json.loads(await asyncio.wait_for(eve.recv(), 5)))["type"] != "pong":
            seen.append(frame)
        assert seen == []
        assert "private question" not in json.dumps(seen)
        # Nia's viewing is announced to her store only.
        await ws.send(json.dumps({"type": "viewing", "conversation_id": conv.id}))
        viewing = await next_frame(ws, "viewing")
        assert viewing["conversation_id"] == conv.id
        await eve.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(eve.recv(), 5))["type"] == "pong"


async def test_logout_everywhere_ends_the_socket(live_servers, redis):
    server = await live_servers()
    store = await store_with_number()
    agent, token, _ = await agent_session(redis, store, "nia@shop.example")
    async with websockets.connect(ws_url(server), additional_headers=cookie(token)) as ws:
        await next_frame(ws, "hello")
        await sessions.destroy_all(redis, agent.id)
        await ws.send(json.dumps({"type": "ping"}))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await asyncio.wait_for(ws.recv(), 5)
        assert closed.value.rcvd.code == 4401


async def test_webhook_on_one_instance_reaches_a_socket_on_another(live_servers, redis):
    first, second = await live_servers(), await live_servers()
    store = await store_with_number()
    _, token, _ = await agent_session(redis, store, "nia@shop.example")
    async with websockets.connect(ws_url(first), additional_headers=cookie(token)) as ws:
        await next_frame(ws, "hello")
        assert (await post_sms(second, "via the other instance")).status_code == 200
        frame = await next_frame(ws, "message")
        assert frame["message"]["body"] == "via the other instance"


async def test_catch_up_after_a_gap_returns_each_missed_message_once(live_servers, redis):
    server = await live_servers()
    store = await store_with_number()
    agent, token, _ = await agent_session(redis, store, "nia@shop.example")
    await post_sms(server, "seen before the drop")
    seen = (await Message.get()).id
    await Conversation.filter().update(assignee_id=agent.id)
    for i in range(3):
        await post_sms(server, f"missed {i}")
    async with httpx.AsyncClient(base_url=server.url, headers=cookie(token)) as http:
        page = (await http.get(f"/inbox/api/v1/changes?after={seen}")).json()
    assert [m["body"] for m in page["messages"]] == ["missed 0", "missed 1", "missed 2"]
    assert page["cursor"] == max(m["id"] for m in page["messages"]) and page["complete"]
    # The batched catch-up sends the same conversation frame as a live announcement.
    conv = await Conversation.get()
    assert page["conversations"] == [await services.summary(conv)]
    assert page["conversations"][0]["assignee"] == {"id": agent.id, "name": agent.name}


def test_live_channels_are_namespaced_by_redis_database():
    from app.core.redis import pubsub_namespace
    from tests.conftest import make_settings

    first = pubsub_namespace(make_settings(FOLLOWUP_REDIS_URL="redis://127.0.0.1:6379/4"))
    second = pubsub_namespace(make_settings(FOLLOWUP_REDIS_URL="redis://127.0.0.1:6379/5"))
    assert first != second and first.endswith("db4")

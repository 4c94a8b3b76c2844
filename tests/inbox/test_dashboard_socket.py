"""The dashboard's live feed (/dashboard/ws): owners and admins of the store only, "stats" frames
only, published by the outbox listener in any process and heard on every instance."""

from __future__ import annotations

import asyncio
import json

import pytest
import websockets
from websockets.exceptions import InvalidStatus

from app.accounts.models import Role
from app.core import events
from app.core.outbox import OutboxEvent
from inbox import listeners, presence
from tests.inbox.conftest import agent_session, store_with_number
from tests.inbox.test_live import cookie, next_frame, post_sms, ws_url

DASHBOARD = "/dashboard/ws"


def announced(store_id: int, name: str = events.CHECKOUT_ABANDONED) -> OutboxEvent:
    """The outbox row the dispatcher hands its handlers (not saved: the listener only reads it)."""
    return OutboxEvent(name=name, store_id=store_id, subject_id=1, payload={}, dedupe_key="k")


async def test_a_stats_frame_reaches_dashboards_of_its_store_on_every_instance(live_servers, redis):
    first, second = await live_servers(), await live_servers()
    mine = await store_with_number()
    theirs = await store_with_number("other.example.com", "+12125550111")
    _, token, _ = await agent_session(redis, mine, "owner@shop.example", Role.OWNER)
    _, eve, _ = await agent_session(redis, theirs, "eve@other.example", Role.ADMIN)
    async with (
        websockets.connect(ws_url(second, DASHBOARD), additional_headers=cookie(token)) as ws,
        websockets.connect(ws_url(first, DASHBOARD), additional_headers=cookie(eve)) as other,
    ):
        assert (await next_frame(ws, "hello"))["store_id"] == mine.id
        await next_frame(other, "hello")
        assert await presence.viewers(redis, mine.id) == {}  # a dashboard is not an inbox agent
        # A shopper's text goes to the inbox channel: the dashboard hears none of it.
        assert (await post_sms(first, "private words")).status_code == 200
        for name in listeners.STATS_EVENTS:
            await listeners.stats_changed(announced(mine.id, name))
            frame = await next_frame(ws, "stats")
            assert frame == {"type": "stats", "event": name}
        await ws.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(ws.recv(), 5)) == {"type": "pong"}
        await other.send(json.dumps({"type": "ping"}))
        assert json.loads(await asyncio.wait_for(other.recv(), 5)) == {"type": "pong"}  # nothing


async def test_only_owners_and_admins_with_a_session_and_our_origin_may_listen(live_servers, redis):
    server = await live_servers()
    store = await store_with_number()
    _, agent, _ = await agent_session(redis, store, "nia@shop.example", Role.AGENT)
    _, owner, _ = await agent_session(redis, store, "owner@shop.example", Role.OWNER)
    # Refused before the handshake completes, like the inbox socket: an HTTP 403 to the client.
    for headers, origin in (
        ({}, None),
        (cookie("forged"), None),
        (cookie(agent), None),  # an inbox agent cannot see the dashboard, nor its feed
        (cookie(owner), "https://evil.test"),
    ):
        with pytest.raises(InvalidStatus):
            async with websockets.connect(
                ws_url(server, DASHBOARD), additional_headers=headers, origin=origin
            ):
                pass
    async with websockets.connect(
        ws_url(server, DASHBOARD), additional_headers=cookie(owner)
    ) as ws:
        assert (await next_frame(ws, "hello"))["store_id"] == store.id

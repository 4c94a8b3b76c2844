"""The inbox websocket: authenticated by the session cookie, subscribed to its own store's channel only."""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any
from urllib.parse import urlparse

from litestar import WebSocket, websocket
from litestar.channels import ChannelsPlugin
from litestar.exceptions import WebSocketDisconnect

from app.accounts import sessions
from app.accounts.guards import resolve_session
from app.accounts.models import Agent
from app.config import get_settings
from app.core.logging import ctx
from inbox import live, presence, services
from inbox.listeners import STATS_FRAME
from inbox.models import Conversation

log = logging.getLogger(__name__)
MAX_FRAME = 4096
CLOSE_UNAUTHORISED = 4401
CLOSE_FORBIDDEN_ORIGIN = 4403


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """Cookies ride along on cross-site websocket handshakes, so the page's origin must be ours."""
    if not origin:
        return True  # not a browser: the session cookie alone decides
    netloc = urlparse(origin).netloc
    public = urlparse(get_settings().server.public_url).netloc
    return netloc in {public, host or ""}


@websocket("/inbox/ws", opt={"exclude_from_csrf": True})
async def inbox_socket(socket: WebSocket[Any, Any, Any], channels: ChannelsPlugin) -> None:
    if not origin_allowed(socket.headers.get("origin"), socket.headers.get("host")):
        await socket.close(code=CLOSE_FORBIDDEN_ORIGIN, reason="origin not allowed")
        return
    found = await resolve_session(socket.app.state.redis, socket.cookies.get(sessions.COOKIE))
    if found is None:
        await socket.close(code=CLOSE_UNAUTHORISED, reason="log in first")
        return
    agent, session = found.agent, found.session
    await socket.accept()
    redis, store_id = socket.app.state.redis, session.store_id
    ttl = get_settings().inbox.presence_seconds
    await presence.heartbeat(redis, store_id, agent.id, ttl)
    async with channels.start_subscription([live.channel_for(store_id)]) as subscriber:  # noqa: SIM117
        async with subscriber.run_in_background(
            lambda data: socket.send_text(data.decode()), join=False
        ):
            await socket.send_json(
                {
                    "type": "hello",
                    "agent_id": agent.id,
                    "store_id": store_id,
                    "viewers": await presence.viewers(redis, store_id),
                }
            )
            await services.auto_assign(
                redis, store_id, ttl
            )  # an agent coming online takes the queue
            try:
                await _receive(socket, agent, store_id)
            except WebSocketDisconnect:
                pass
            finally:
                with contextlib.suppress(Exception):
                    await presence.offline(redis, store_id, agent.id)
                    await live.publish(store_id, _viewing(agent, None))


def _viewing(agent: Agent, conv_id: int | None) -> dict[str, Any]:
    return {
        "type": "viewing",
        "agent_id": agent.id,
        "agent_name": agent.name,
        "conversation_id": conv_id,
    }


async def _receive(socket: WebSocket[Any, Any, Any], agent: Agent, store_id: int) -> None:
    redis = socket.app.state.redis
    ttl = get_settings().inbox.presence_seconds
    token = socket.cookies.get(sessions.COOKIE)
    while True:
        raw = await socket.receive_text()
        frame = _parse(raw)
        kind = frame.get("type")
        if kind == "ping":
            if await sessions.load(redis, token) is None:  # logged out everywhere meanwhile
                await socket.close(code=CLOSE_UNAUTHORISED, reason="session ended")
                return
            await presence.heartbeat(redis, store_id, agent.id, ttl)
            await socket.send_json({"type": "pong"})
        elif kind == "viewing":
            await _view(socket, agent, store_id, frame.get("conversation_id"))
        else:
            await socket.send_json(
                {
                    "type": "error",
                    "code": "unknown_frame",
                    "detail": "send ping or viewing; your store comes from your session",
                }
            )


def _parse(raw: str) -> dict[str, Any]:
    if len(raw) > MAX_FRAME:
        return {}
    try:
        frame = json.loads(raw)
    except json.JSONDecodeError:
        return {}
    return frame if isinstance(frame, dict) else {}


async def _view(
    socket: WebSocket[Any, Any, Any], agent: Agent, store_id: int, conv_id: Any
) -> None:
    redis = socket.app.state.redis
    if conv_id is None:
        await presence.set_viewing(redis, store_id, agent.id, None)
        await live.publish(store_id, _viewing(agent, None))
        return
    if not isinstance(conv_id, int) or not await Conversation.exists(id=conv_id, store_id=store_id):
        log.warning(
            "websocket asked for a foreign conversation",
            extra=ctx(store=store_id, agent=agent.id, conversation=str(conv_id)[:32]),
        )
        await socket.send_json(
            {"type": "error", "code": "not_found", "detail": "no such conversation in this store"}
        )
        return
    await presence.set_viewing(redis, store_id, agent.id, conv_id)
    await live.publish(store_id, _viewing(agent, conv_id))


@websocket("/dashboard/ws", opt={"exclude_from_csrf": True})
async def dashboard_socket(socket: WebSocket[Any, Any, Any], channels: ChannelsPlugin) -> None:
    """The dashboard's live feed: the inbox socket's auth and store channel, "stats" frames only.

    Whoever may open the dashboard (owners and admins) may listen; the viewer is not an inbox
    agent here, so no presence and no queue assignment, and no message text reaches the page.
    """
    if not origin_allowed(socket.headers.get("origin"), socket.headers.get("host")):
        await socket.close(code=CLOSE_FORBIDDEN_ORIGIN, reason="origin not allowed")
        return
    found = await resolve_session(socket.app.state.redis, socket.cookies.get(sessions.COOKIE))
    if found is None or not found.agent.is_manager:
        await socket.close(code=CLOSE_UNAUTHORISED, reason="log in as an owner or admin")
        return
    await socket.accept()
    store_id = found.session.store_id

    async def forward(data: bytes) -> None:
        if json.loads(data).get("type") == STATS_FRAME:
            await socket.send_text(data.decode())

    async with channels.start_subscription([live.channel_for(store_id)]) as subscriber:  # noqa: SIM117
        async with subscriber.run_in_background(forward, join=False):
            await socket.send_json({"type": "hello", "store_id": store_id})
            with contextlib.suppress(WebSocketDisconnect):
                await _until_closed(socket, found.token)


async def _until_closed(socket: WebSocket[Any, Any, Any], token: str | None) -> None:
    """Answer pings; a session ended meanwhile (logout everywhere) closes the feed."""
    while True:
        if _parse(await socket.receive_text()).get("type") != "ping":
            continue
        if await sessions.load(socket.app.state.redis, token) is None:
            await socket.close(code=CLOSE_UNAUTHORISED, reason="session ended")
            return
        await socket.send_json({"type": "pong"})

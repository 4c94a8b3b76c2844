"""The shopper's side of live chat: its config and session routes and its websocket.

No cookie is read or set: the store comes from the publishable key (config, session) or from the
signed visitor token (websocket), and the visitor only from that token. Frames are small JSON
objects; anything else gets an error frame in words, never another shopper's data."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from collections.abc import Coroutine
from typing import Any

from litestar import Controller, Request, Response, WebSocket, get, post, websocket
from litestar.channels import ChannelsPlugin
from litestar.datastructures import State
from litestar.exceptions import WebSocketDisconnect
from redis.asyncio import Redis

from app.config import get_settings
from app.core.errors import ApiError
from app.core.logging import ctx
from app.core.ratelimit import hit
from app.core.timeutil import utcnow
from app.messaging import chat as delivery
from app.stores.models import Store
from app.stores.services import capture_store
from inbox import chat, chat_invites, chat_rules, services
from inbox.models import ChatVisitor

log = logging.getLogger(__name__)

CLOSE_UNAUTHORISED, CLOSE_FORBIDDEN_ORIGIN, CLOSE_TOO_MANY = 4401, 4403, 4429


def chat_settings(store: Store) -> chat_rules.ChatSettings:
    return chat_rules.settings_from((store.settings or {}).get("chat"))


def site_allowed(store: Store, origin: str | None) -> bool:
    """A browser page must be on one of the store's sites; no Origin: not a browser."""
    if origin is None:
        return True
    return "*" in (store.allowed_origins or []) or origin.rstrip("/") in store.origins()


def public_config(store: Store) -> dict[str, Any]:
    settings = chat_settings(store)
    hours = chat_rules.availability(utcnow(), settings, store.timezone)
    return {
        "enabled": settings.enabled and store.is_active,
        "store_name": store.name,
        "greeting": settings.greeting,
        "open": hours.open,
        "back_at": hours.back_at.isoformat() if hours.back_at else None,
        "invite": {
            "text": settings.invite_text,
            "everywhere": settings.invite_everywhere,
            "idle_seconds": settings.invite_idle_seconds,
        }
        if settings.invite
        else None,
    }


def _cors(origin: str | None) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


async def _store_for(request: Request[Any, Any, State]) -> Store:
    key = request.query_params.get("key")
    store = await capture_store("collect", str(key)[:64]) if key else None
    if store is None:
        raise ApiError(404, "unknown_store", "no store has this publishable key")
    origin = request.headers.get("origin")
    if not site_allowed(store, origin):
        raise ApiError(
            403, "origin_not_allowed", f"origin {origin} is not one of this store's sites"
        )
    return store


def _ip(request: Any) -> str:
    return request.client.host if request.client else "-"


class ChatApi(Controller):
    path = "/chat/v1"
    tags = ["chat"]

    @get("/config", summary="Whether the store's chat is on and whether agents are in now")
    async def config(self, request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
        store = await _store_for(request)
        headers = _cors(request.headers.get("origin")) | {"Cache-Control": "max-age=60"}
        return Response(public_config(store), headers=headers)

    @post("/session", status_code=200, summary="A chat visitor token for this browser")
    async def session(self, request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
        """Body (text/plain JSON, so no preflight): `token` (this browser's earlier one), `link`
        (a chat link's token from an email), `anonymous_id` (the snippet's visitor id)."""
        store = await Store.get(id=(await _store_for(request)).id)  # settings as saved now
        if not chat_settings(store).enabled:
            raise ApiError(409, "chat_off", "this store has not turned chat on")
        limit = get_settings().inbox.chat_connections_per_ip
        wait = await hit(request.app.state.redis, f"chat-session:{_ip(request)}", limit, 60)
        if wait:
            raise ApiError(
                429,
                "rate_limited",
                "too many chats from this address; wait a minute",
                headers={"Retry-After": str(wait)},
            )
        body = _json_object(await request.body())
        opened = await chat.open_session(
            store,
            _text(body.get("token")),
            _text(body.get("link")),
            _text(body.get("anonymous_id")),
        )
        headers = _cors(request.headers.get("origin")) | {"Cache-Control": "no-store"}
        return Response({"token": opened.token, **public_config(store)}, headers=headers)

    @post("/invitations", status_code=202, summary="An exit-intent invitation shown or accepted")
    async def invitation(self, request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
        """Body (text/plain JSON): `session` (random per tab session), `trigger` (pointer_left,
        tab_hidden or back), `checkout_id` (the snippet's), `accepted` (true when taken up)."""
        store = await _store_for(request)
        limit = get_settings().inbox.chat_connections_per_ip
        if await hit(request.app.state.redis, f"chat-invite:{_ip(request)}", limit, 60):
            raise ApiError(429, "rate_limited", "too many invitations from this address")
        try:
            event = chat_invites.parse_event(_json_object(await request.body()))
        except chat_invites.InviteError as exc:
            raise ApiError(422, "bad_invitation", str(exc)) from None
        counted = await chat_invites.record(store.id, event)
        headers = _cors(request.headers.get("origin"))
        return Response({"counted": counted}, status_code=202, headers=headers)


def _text(value: Any) -> str | None:
    return value[:200] if isinstance(value, str) else None


def _json_object(raw: bytes) -> dict[str, Any]:
    if len(raw) > chat_rules.MAX_FRAME:
        raise ApiError(413, "payload_too_large", f"at most {chat_rules.MAX_FRAME} bytes")
    if not raw.strip():
        return {}
    try:
        found = json.loads(raw)
    except ValueError:
        raise ApiError(400, "bad_json", "the body must be a JSON object") from None
    if not isinstance(found, dict):
        raise ApiError(400, "bad_json", "the body must be a JSON object")
    return found


async def _visitor_of(socket: WebSocket[Any, Any, Any]) -> tuple[Store, ChatVisitor] | None:
    found = chat.read_visitor_token(socket.query_params.get("token"))
    if found is None:
        return None
    store = await Store.get_or_none(id=found[0])
    if store is None or not store.is_active or not chat_settings(store).enabled:
        return None
    visitor = await ChatVisitor.get_or_none(store_id=store.id, key=found[1])
    return (store, visitor) if visitor is not None else None


@websocket("/chat/v1/ws", opt={"exclude_from_csrf": True})
async def chat_socket(socket: WebSocket[Any, Any, Any], channels: ChannelsPlugin) -> None:
    found = await _visitor_of(socket)
    if found is None:
        await socket.close(code=CLOSE_UNAUTHORISED, reason="chat token not valid")
        return
    store, visitor = found
    if not site_allowed(store, socket.headers.get("origin")):
        await socket.close(code=CLOSE_FORBIDDEN_ORIGIN, reason="origin not allowed")
        return
    redis: Redis = socket.app.state.redis
    limit = get_settings().inbox.chat_connections_per_ip
    if await hit(redis, f"chat-socket:{_ip(socket)}", limit, 60):
        await socket.close(code=CLOSE_TOO_MANY, reason="too many connections")
        return
    await socket.accept()
    socket_id = secrets.token_hex(8)
    channel = delivery.visitor_channel(store.id, visitor.key)
    async with channels.start_subscription([channel]) as subscriber:  # noqa: SIM117
        async with subscriber.run_in_background(
            lambda data: socket.send_text(data.decode()), join=False
        ):
            await delivery.socket_seen(redis, store.id, visitor.key, socket_id)
            try:
                await _hello(socket, store, visitor)
                await _receive(socket, store, visitor, socket_id)
            except WebSocketDisconnect:
                pass
            finally:
                with contextlib.suppress(Exception):
                    await delivery.socket_gone(redis, store.id, visitor.key, socket_id)


async def _hello(socket: WebSocket[Any, Any, Any], store: Store, visitor: ChatVisitor) -> None:
    await socket.send_json(
        {"type": "hello", **public_config(store), "messages": await chat.history(visitor)}
    )
    await chat.deliver_waiting(visitor, utcnow())


async def _receive(
    socket: WebSocket[Any, Any, Any], store: Store, visitor: ChatVisitor, socket_id: str
) -> None:
    redis: Redis = socket.app.state.redis
    while True:
        raw = await socket.receive_text()
        frame = _parse(raw)
        kind = frame.get("type")
        if frame.get("too_large"):
            await _error(socket, "too_long", f"a frame is at most {chat_rules.MAX_FRAME} bytes")
        elif kind == "ping":
            await delivery.socket_seen(redis, store.id, visitor.key, socket_id)
            await socket.send_json({"type": "pong"})
        elif kind == "message":
            await _message(socket, visitor, frame)
        elif kind == "identify":
            await _identify(socket, store, visitor, frame)
        else:
            await _error(socket, "unknown_frame", "send ping, message or identify")


_tasks: set[asyncio.Task[Any]] = set()


def _background(work: Coroutine[Any, Any, Any]) -> None:
    """Run `work` without waiting for it; the set keeps the task alive until it ends."""
    task = asyncio.create_task(work)
    _tasks.add(task)
    task.add_done_callback(_tasks.discard)


def _parse(raw: str) -> dict[str, Any]:
    if len(raw.encode()) > chat_rules.MAX_FRAME:
        return {"too_large": True}
    try:
        frame = json.loads(raw)
    except ValueError:
        return {}
    return frame if isinstance(frame, dict) else {}


async def _error(
    socket: WebSocket[Any, Any, Any], code: str, detail: str, client_id: Any = None
) -> None:
    frame = {"type": "error", "code": code, "detail": detail}
    if isinstance(client_id, str):
        frame["client_id"] = client_id[:64]
    await socket.send_json(frame)


async def _message(
    socket: WebSocket[Any, Any, Any], visitor: ChatVisitor, frame: dict[str, Any]
) -> None:
    client_id = frame.get("client_id")
    text = chat_rules.check_body(frame.get("body"))
    if not isinstance(client_id, str) or not chat_rules.CLIENT_ID.match(client_id):
        return await _error(socket, "bad_client_id", "client_id must be 8-64 letters or digits")
    if text is None:
        limit = chat_rules.MAX_SHOPPER_BODY
        return await _error(socket, "too_long", f"a message is 1 to {limit} characters", client_id)
    wait = await _limited(socket, visitor)
    if wait:
        return await _error(
            socket, "rate_limited", f"too many messages; try again in {wait} s", client_id
        )
    received = await chat.receive(visitor, text, client_id, utcnow())
    if not received.duplicate and received.conversation.assignee_id is None:
        # As for a text: only a message in an unassigned thread can change what round robin
        # serves. In the background: its store lock may wait, and the shopper's next message
        # must not wait behind it.
        presence = get_settings().inbox.presence_seconds
        _background(services.auto_assign(socket.app.state.redis, visitor.store_id, presence))
    await socket.send_json(
        {**chat.shopper_frame(received.message), "type": "sent", "client_id": client_id}
    )


async def _limited(socket: WebSocket[Any, Any, Any], visitor: ChatVisitor) -> int:
    redis: Redis = socket.app.state.redis
    limits = get_settings().inbox
    own_key = f"chat-msg:{visitor.store_id}:{visitor.key}"
    own = await hit(redis, own_key, limits.chat_messages_per_minute, 60)
    by_ip = await hit(redis, f"chat-msg-ip:{_ip(socket)}", limits.chat_messages_per_ip, 60)
    return max(own, by_ip)


async def _identify(
    socket: WebSocket[Any, Any, Any], store: Store, visitor: ChatVisitor, frame: dict[str, Any]
) -> None:
    region = store.locale.split("_")[-1] if "_" in store.locale else None
    try:
        email, phone = chat.contact_details(frame.get("email"), frame.get("phone"), region)
    except chat.ChatInputError as exc:
        return await _error(socket, "bad_contact", str(exc))
    continue_by = frame.get("continue_by") if frame.get("continue_by") in ("sms", "email") else None
    await chat.identify(store, visitor, email, phone, continue_by)
    log.info("chat identified", extra=ctx(store=store.id, visitor=visitor.id))
    await socket.send_json({"type": "identified", "continue_by": continue_by})

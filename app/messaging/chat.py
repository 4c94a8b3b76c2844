"""Chat delivery: an agent's chat message reaches the shopper's open widget through Redis pub/sub.

Each shopper socket subscribes to its own visitor channel (`visitor_channel`), in whichever web
process holds it, and keeps a presence mark (`chat:online:<store>:<visitor>`) fresh while open.
A message for a visitor with no open socket is recorded `queued`: the agent is told the shopper has
left, and the widget receives it (and the row becomes `delivered`) when the shopper comes back.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError

from app.core.redis import connect_redis, pubsub_namespace, reply
from app.messaging.models import DeliveryStatus
from app.messaging.senders import OutboundChat, SendError, SendResult

PRESENCE_SECONDS = 60
"""A socket that has not pinged for this long is gone (the widget pings every 20 s)."""


def visitor_channel(store_id: int, visitor_key: str) -> str:
    """Both parts come from a verified token or the stored row, never from a client's frame."""
    return f"{pubsub_namespace()}.chat.visitor.{int(store_id)}.{visitor_key}"


def _online_key(store_id: int, visitor_key: str) -> str:
    return f"chat:online:{int(store_id)}:{visitor_key}"


async def socket_seen(redis: Redis, store_id: int, visitor_key: str, socket_id: str) -> None:
    """Mark one open socket of the visitor as alive (on connect and every ping)."""
    key, now = _online_key(store_id, visitor_key), time.time()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(key, {socket_id: now})
        pipe.zremrangebyscore(key, 0, now - PRESENCE_SECONDS)
        pipe.expire(key, PRESENCE_SECONDS * 2)
        await pipe.execute()


async def socket_gone(redis: Redis, store_id: int, visitor_key: str, socket_id: str) -> None:
    await reply(redis.zrem(_online_key(store_id, visitor_key), socket_id))


async def is_online(redis: Redis, store_id: int, visitor_key: str) -> bool:
    since = time.time() - PRESENCE_SECONDS
    count = await reply(redis.zcount(_online_key(store_id, visitor_key), since, "+inf"))
    return int(count) > 0


def agent_frame(message_id: int, body: str, sent_at: str) -> dict[str, Any]:
    """What the widget receives for an agent's message: nothing about the thread or other rows."""
    return {"type": "message", "id": message_id, "author": "agent", "body": body, "at": sent_at}


class ChatSocketSender:
    """The chat channel's provider: publish to the visitor's channel when a socket is open."""

    name = "chat"

    def __init__(self) -> None:
        self._clients: dict[int, Redis] = {}

    def _redis(self) -> Redis:
        key = id(asyncio.get_running_loop())
        if key not in self._clients:
            self._clients[key] = connect_redis()
        return self._clients[key]

    async def send_chat(self, message: OutboundChat) -> SendResult:
        redis = self._redis()
        provider_id = f"chat-{message.message_id}"
        try:
            if not await is_online(redis, message.store_id, message.to):
                return SendResult(self.name, provider_id, DeliveryStatus.QUEUED)
            frame = agent_frame(message.message_id, message.body, message.sent_at)
            data = json.dumps(frame, separators=(",", ":"))
            await reply(redis.publish(visitor_channel(message.store_id, message.to), data))
        except (RedisError, OSError) as exc:
            raise SendError("redis", f"live chat unavailable: {exc}", permanent=False) from exc
        return SendResult(self.name, provider_id, DeliveryStatus.DELIVERED)

    async def close(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            await client.aclose()

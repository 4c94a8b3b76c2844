"""Server-side sessions in Redis: the cookie holds only a random id, so logout is instant everywhere."""

from __future__ import annotations

import hashlib
import json
import secrets
import time
from dataclasses import asdict, dataclass

from redis.asyncio import Redis

from app.core.redis import reply

COOKIE = "fu_session"
TTL_SECONDS = 14 * 24 * 3600


@dataclass(frozen=True, slots=True)
class Session:
    agent_id: int
    store_id: int
    role: str
    csrf: str
    created_at: float


def _key(token: str) -> str:
    return "session:" + hashlib.sha256(token.encode()).hexdigest()


def _index(agent_id: int) -> str:
    return f"agent-sessions:{agent_id}"


async def create(redis: Redis, agent_id: int, store_id: int, role: str) -> tuple[str, Session]:
    token = secrets.token_urlsafe(32)
    session = Session(agent_id, store_id, role, secrets.token_urlsafe(24), time.time())
    async with redis.pipeline(transaction=True) as pipe:
        pipe.set(_key(token), json.dumps(asdict(session)), ex=TTL_SECONDS)
        pipe.sadd(_index(agent_id), _key(token))
        pipe.expire(_index(agent_id), TTL_SECONDS)
        await pipe.execute()
    return token, session


async def load(redis: Redis, token: str | None) -> Session | None:
    if not token or len(token) > 128:
        return None
    raw = await redis.get(_key(token))
    return Session(**json.loads(raw)) if raw else None


async def destroy(redis: Redis, token: str, agent_id: int) -> None:
    async with redis.pipeline(transaction=True) as pipe:
        pipe.delete(_key(token))
        pipe.srem(_index(agent_id), _key(token))
        await pipe.execute()


async def destroy_all(redis: Redis, agent_id: int) -> int:
    """Logout everywhere: every browser of this agent loses its session at once."""
    keys = await reply(redis.smembers(_index(agent_id)))
    if keys:
        await redis.delete(*keys)
    await redis.delete(_index(agent_id))
    return len(keys)

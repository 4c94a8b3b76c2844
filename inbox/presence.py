"""Who is online and who is looking at which conversation: short-lived Redis state, safe to lose."""

from __future__ import annotations

import time

from redis.asyncio import Redis

from app.core.redis import reply


def _online(store_id: int) -> str:
    return f"inbox:online:{store_id}"


def _viewing(store_id: int) -> str:
    return f"inbox:viewing:{store_id}"


async def heartbeat(redis: Redis, store_id: int, agent_id: int, ttl: int) -> None:
    now = time.time()
    async with redis.pipeline(transaction=False) as pipe:
        pipe.zadd(_online(store_id), {str(agent_id): now})
        pipe.zremrangebyscore(_online(store_id), 0, now - ttl)
        pipe.expire(_online(store_id), ttl * 4)
        await pipe.execute()


async def offline(redis: Redis, store_id: int, agent_id: int) -> None:
    await reply(redis.zrem(_online(store_id), str(agent_id)))
    await reply(redis.hdel(_viewing(store_id), str(agent_id)))


async def online(redis: Redis, store_id: int, ttl: int) -> set[int]:
    members = await reply(redis.zrangebyscore(_online(store_id), time.time() - ttl, "+inf"))
    return {int(m) for m in members}


async def last_assigned(redis: Redis, store_id: int) -> dict[int, float]:
    raw = await reply(redis.hgetall(f"inbox:rr:{store_id}"))
    return {int(k): float(v) for k, v in raw.items()}


async def mark_assigned(redis: Redis, store_id: int, agent_id: int, ts: float) -> None:
    await reply(redis.hset(f"inbox:rr:{store_id}", str(agent_id), str(ts)))


async def set_viewing(redis: Redis, store_id: int, agent_id: int, conv_id: int | None) -> None:
    if conv_id is None:
        await reply(redis.hdel(_viewing(store_id), str(agent_id)))
    else:
        await reply(redis.hset(_viewing(store_id), str(agent_id), str(conv_id)))


async def viewers(redis: Redis, store_id: int) -> dict[int, int]:
    """agent id -> conversation id being viewed, for a page that just (re)connected."""
    raw = await reply(redis.hgetall(_viewing(store_id)))
    return {int(k): int(v) for k, v in raw.items()}

"""Fixed-window rate limits in Redis, shared by every app instance."""

from __future__ import annotations

import logging
import time

from redis.asyncio import Redis

log = logging.getLogger(__name__)


async def hit(redis: Redis, key: str, limit: int, window_seconds: int) -> int:
    """Count one hit; return 0 when allowed, else the seconds until the window resets.

    If Redis is unreachable we let the request through: capture matters more than the limit.
    """
    window = int(time.time()) // window_seconds
    full_key = f"rl:{key}:{window}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(full_key)
            pipe.expire(full_key, window_seconds * 2)
            count, _ = await pipe.execute()
    except Exception as exc:
        log.warning("rate limiter unavailable, allowing: %s", exc)
        return 0
    if int(count) <= limit:
        return 0
    return window_seconds - int(time.time()) % window_seconds

"""Rate limits in Redis, shared by every app instance: a sliding window over two fixed buckets."""

from __future__ import annotations

import logging
import math
import time

from redis.asyncio import Redis

log = logging.getLogger(__name__)


class LimiterUnavailable(Exception):
    """Redis could not count a hit and the caller asked to refuse rather than allow."""


def estimate(previous: int, current: int, elapsed_fraction: float) -> float:
    """Requests in the last full window, assuming the previous bucket's were spread evenly.

    This closes the gap a plain fixed window leaves open: a burst at the end of one window and
    another at the start of the next can no longer pass twice the limit.
    """
    return previous * (1.0 - elapsed_fraction) + current


async def hit(
    redis: Redis,
    key: str,
    limit: int,
    window_seconds: int,
    now: float | None = None,
    *,
    fail_open: bool = True,
) -> int:
    """Count one hit; return 0 when allowed, else the seconds to wait before trying again.

    If Redis is unreachable, `fail_open` lets the request through (capture matters more than
    its limit); with `fail_open=False` it raises LimiterUnavailable (logins: no limit, no entry).
    """
    now = time.time() if now is None else now
    bucket = int(now // window_seconds)
    current_key, previous_key = f"rl:{key}:{bucket}", f"rl:{key}:{bucket - 1}"
    try:
        async with redis.pipeline(transaction=True) as pipe:
            pipe.incr(current_key)
            pipe.expire(current_key, window_seconds * 2)
            pipe.get(previous_key)
            current, _, previous = await pipe.execute()
    except Exception as exc:
        if not fail_open:
            log.error("rate limiter unavailable, refusing %s: %s", key.split(":")[0], exc)
            raise LimiterUnavailable(str(exc)) from exc
        log.warning("rate limiter unavailable, allowing: %s", exc)
        return 0
    fraction = (now % window_seconds) / window_seconds
    if estimate(int(previous or 0), int(current), fraction) <= limit:
        return 0
    return max(1, math.ceil(window_seconds - now % window_seconds))

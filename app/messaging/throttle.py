"""Per-sender send rate shared by every worker: each send reserves the next free slot in Redis."""

from __future__ import annotations

import logging

from redis.asyncio import Redis

from app.core.redis import reply

log = logging.getLogger(__name__)

# GCRA: the key holds the theoretical arrival time of the next send (ms, Redis clock). A send either
# reserves a slot at most `max_wait` ahead (returns the wait, >= 0) or reserves nothing (returns -wait).
_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
local interval = tonumber(ARGV[1])
local start = math.max(tat, now)
local wait = start - now
if wait > tonumber(ARGV[2]) then return -wait end
redis.call('SET', KEYS[1], start + interval, 'PX', wait + interval + 1000)
return wait
"""


async def reserve(redis: Redis | None, key: str, per_second: float, max_wait: float) -> float:
    """Seconds to wait before sending (slot reserved), or a negative delay to come back after.

    Without Redis we send: a lost rate limiter must not stop recovery, and providers queue bursts.
    """
    if redis is None or per_second <= 0:
        return 0.0
    interval = max(int(1000 / per_second), 1)
    try:
        result = await reply(
            redis.eval(_RESERVE, 1, f"throttle:{key}", str(interval), str(int(max_wait * 1000)))
        )
    except Exception as exc:
        log.warning("send throttle unavailable, sending: %s", exc)
        return 0.0
    return int(result) / 1000

"""Sign-in attempt limits: per account and per client address, refusing when they cannot be counted."""

from __future__ import annotations

from redis.asyncio import Redis

from app.core.ratelimit import hit

WINDOW_SECONDS = 300
PER_ACCOUNT = 10
"""Guesses at one account in five minutes, from anywhere: a slow password guesser's ceiling."""
PER_ADDRESS = 20
"""Attempts from one address in five minutes, whatever the email: stops spraying many accounts."""


async def login_wait(redis: Redis, email: str, ip: str) -> int:
    """Seconds to wait before this attempt may be checked; 0 lets it through.

    `email` must be normalized (`normalize_email`) so spellings of one account share one count.
    Both counters move on every attempt; raises LimiterUnavailable when Redis cannot count.
    """
    account = await hit(redis, f"login:acct:{email}", PER_ACCOUNT, WINDOW_SECONDS, fail_open=False)
    address = await hit(redis, f"login:ip:{ip}", PER_ADDRESS, WINDOW_SECONDS, fail_open=False)
    return max(account, address)

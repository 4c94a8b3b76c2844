"""The per-process TTL cache: one load per key however many requests miss it at once."""

from __future__ import annotations

import asyncio

import pytest

from app.core.cache import TTLCache


async def test_concurrent_misses_share_one_load() -> None:
    cache: TTLCache[str] = TTLCache(ttl=60)
    loads = 0
    gate = asyncio.Event()

    async def load() -> str:
        nonlocal loads
        loads += 1
        await gate.wait()
        return "store"

    waiters = [asyncio.create_task(cache.get("shop", load)) for _ in range(64)]
    await asyncio.sleep(0)
    gate.set()
    assert await asyncio.gather(*waiters) == ["store"] * 64
    assert loads == 1
    assert await cache.get("shop", load) == "store" and loads == 1  # and it is kept


async def test_a_cancelled_waiter_does_not_cancel_the_load_for_the_others() -> None:
    cache: TTLCache[str] = TTLCache(ttl=60)
    gate = asyncio.Event()

    async def load() -> str:
        await gate.wait()
        return "store"

    first = asyncio.create_task(cache.get("shop", load))
    second = asyncio.create_task(cache.get("shop", load))
    await asyncio.sleep(0)
    first.cancel()
    gate.set()
    assert await second == "store"
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failed_load_fails_its_waiters_and_is_not_kept() -> None:
    cache: TTLCache[str] = TTLCache(ttl=60)
    calls = 0

    async def broken() -> str:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0)
        raise ConnectionError("database away")

    results = await asyncio.gather(
        cache.get("shop", broken), cache.get("shop", broken), return_exceptions=True
    )
    assert [type(r) for r in results] == [ConnectionError, ConnectionError] and calls == 1

    async def fine() -> str:
        return "store"

    assert await cache.get("shop", fine) == "store"


async def test_a_load_begun_before_forget_is_not_kept() -> None:
    cache: TTLCache[str] = TTLCache(ttl=60)
    gate = asyncio.Event()

    async def old() -> str:
        await gate.wait()
        return "before the change"

    async def new() -> str:
        return "after the change"

    stale = asyncio.create_task(cache.get("shop", old))
    await asyncio.sleep(0)
    cache.forget("shop")
    gate.set()
    assert await stale == "before the change"  # its own caller gets what it read
    assert await cache.get("shop", new) == "after the change"  # later callers read again

"""A tiny per-process TTL cache for hot, rarely changing lookups (stores by key on the capture path)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class TTLCache(Generic[V]):
    """Entries live `ttl` seconds; a miss (including None) is cached too, so floods of unknown keys
    cost one query per key per ttl, not one per request.

    Concurrent misses of one key share one load: when an entry expires under load, the requests
    in flight at that moment (64 on a busy capture path) wait for one query instead of sending
    one each. A waiter that is cancelled does not cancel the load for the others."""

    def __init__(self, ttl: float, max_entries: int = 10_000) -> None:
        self.ttl = ttl
        self.max_entries = max_entries
        self._entries: dict[object, tuple[float, V | None]] = {}
        self._loading: dict[object, asyncio.Task[V | None]] = {}

    async def get(self, key: object, load: Callable[[], Awaitable[V | None]]) -> V | None:
        now = time.monotonic()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            return hit[1]
        task = self._loading.get(key)
        if task is None or task.get_loop() is not asyncio.get_running_loop():
            task = asyncio.ensure_future(self._load(key, load))
            self._loading[key] = task
        return await asyncio.shield(task)

    async def _load(self, key: object, load: Callable[[], Awaitable[V | None]]) -> V | None:
        try:
            value = await load()
        finally:
            mine = self._loading.get(key) is asyncio.current_task()
            if mine:
                del self._loading[key]
        if mine:  # not forgotten meanwhile: a load that began before a change is not kept
            if len(self._entries) >= self.max_entries:
                self._entries.clear()
            self._entries[key] = (time.monotonic() + self.ttl, value)
        return value

    def forget(self, key: object) -> None:
        self._entries.pop(key, None)
        self._loading.pop(key, None)

    def clear(self) -> None:
        self._entries.clear()
        self._loading.clear()

"""Live fan-out: one Redis pub/sub channel per store through Litestar's channels plugin, any process may publish."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Iterable
from typing import Any

from litestar.channels import ChannelsPlugin
from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from app.config import Settings, get_settings
from app.core.logging import ctx
from app.core.redis import connect_redis, pubsub_namespace

log = logging.getLogger(__name__)


def channel_for(store_id: int) -> str:
    """The store id always comes from the agent's session or the stored row, never from a client."""
    return f"{pubsub_namespace()}.inbox.store.{int(store_id)}"


class PubSubBackend(RedisChannelsPubSubBackend):
    """Litestar's Redis pub/sub backend, safe against a burst of first subscriptions.

    redis-py's PubSub opens its connection lazily on the first command; two first subscribes at
    once (agents reconnecting right after a deploy) each open one and the second replaces the
    first, so channels subscribed on the lost one are never read and those agents hear nothing.
    Subscribing one call at a time on a connection opened at startup closes that gap.
    """

    def __init__(self, *, redis: Redis) -> None:
        super().__init__(redis=redis)
        self._subscribing = asyncio.Lock()

    async def on_startup(self) -> None:
        """Connect early when Redis is up; when it is not, the app still starts (health says so)."""
        try:
            async with self._subscribing:
                await self._pub_sub.connect()
        except Exception as exc:
            log.warning("live fan-out not connected yet", extra=ctx(error=repr(exc)))

    async def subscribe(self, channels: Iterable[str]) -> None:
        async with self._subscribing:
            await super().subscribe(channels)

    async def unsubscribe(self, channels: Iterable[str]) -> None:
        async with self._subscribing:
            await super().unsubscribe(channels)


def channels_plugin(settings: Settings) -> ChannelsPlugin:
    backend = PubSubBackend(redis=connect_redis(settings))
    # A slow browser must not grow memory without bound; it catches up through the API instead.
    return ChannelsPlugin(
        backend=backend,
        arbitrary_channels_allowed=True,
        subscriber_max_backlog=1000,
        subscriber_backlog_strategy="dropleft",
    )


_publishers: dict[int, tuple[Redis, RedisChannelsPubSubBackend]] = {}


def _publisher() -> RedisChannelsPubSubBackend:
    """One publishing connection per event loop: the web app, the worker and tests each get theirs."""
    key = id(asyncio.get_running_loop())
    if key not in _publishers:
        client = connect_redis(get_settings())
        _publishers[key] = (client, RedisChannelsPubSubBackend(redis=client))
    return _publishers[key][1]


async def publish(store_id: int, event: dict[str, Any]) -> None:
    """Best effort: a lost frame is repaired by the page's catch-up, so Redis trouble never fails a write."""
    try:
        data = json.dumps(event, separators=(",", ":"), default=str).encode()
        await _publisher().publish(data, [channel_for(store_id)])
    except Exception as exc:
        log.warning("live publish failed", extra=ctx(store=store_id, error=repr(exc)))

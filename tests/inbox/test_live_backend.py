"""The Redis fan-out backend under a burst of first subscriptions, as after a deploy."""

from __future__ import annotations

import asyncio

from litestar.channels.backends.redis import RedisChannelsPubSubBackend
from redis.asyncio import Redis

from inbox.live import PubSubBackend
from tests.conftest import REDIS_URL

CHANNELS = [f"inbox.store.{n}" for n in range(40)]


async def _heard(backend: RedisChannelsPubSubBackend) -> set[str]:
    """Subscribe to every channel at once, publish once on each, return the channels heard."""
    await backend.on_startup()
    await asyncio.gather(*[backend.subscribe([channel]) for channel in CHANNELS])
    heard: set[str] = set()

    async def listen() -> None:
        async for channel, _data in backend.stream_events():
            heard.add(channel)
            if len(heard) == len(CHANNELS):
                return

    listener = asyncio.create_task(listen())
    publisher = Redis.from_url(REDIS_URL)
    for channel in CHANNELS:
        await publisher.publish(channel, b"{}")
    try:
        await asyncio.wait_for(asyncio.shield(listener), 2)
    except TimeoutError:
        listener.cancel()
    await publisher.aclose()
    await backend.on_shutdown()
    return heard


async def test_every_channel_of_a_subscription_burst_is_heard(redis):
    client = Redis.from_url(REDIS_URL)
    try:
        assert await _heard(PubSubBackend(redis=client)) == set(CHANNELS)
    finally:
        await client.aclose()


def test_the_app_fans_out_through_that_backend(settings):
    from inbox.live import channels_plugin

    assert isinstance(channels_plugin(settings)._backend, PubSubBackend)

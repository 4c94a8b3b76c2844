"""Nothing lost: a worker killed mid-delivery and a flushed Redis still deliver every event."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from redis.asyncio import Redis

from app.core.outbox import OutboxEvent
from app.core.scheduling import schedule_dispatch
from app.hooks.models import DeliveryState, HookDelivery, SubscriptionSource
from app.hooks.services import subscribe
from tests.conftest import REDIS_URL, TEST_ENV
from tests.factories import make_store
from tests.fakes.server import LoopbackServer
from tests.fakes.webhook_receiver import Receiver
from tests.hooks.conftest import abandoned_checkout

ROOT = Path(__file__).resolve().parents[2]
CHECKOUTS = 40
SUBSCRIPTIONS = 3


class SlowReceiver(Receiver):
    """Takes a while to answer, so deliveries are in flight when the worker dies."""

    async def __call__(self, scope, receive, send):  # type: ignore[no-untyped-def]
        if scope["type"] == "http":
            await asyncio.sleep(0.5)
        await super().__call__(scope, receive, send)


def _worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
    )


async def _until(check, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    for _ in range(int(seconds * 10)):
        if await check():
            return True
        await asyncio.sleep(0.1)
    return False


@pytest.mark.slow
async def test_killed_worker_and_flushed_redis_lose_no_delivery(settings, queue) -> None:
    fake = SlowReceiver()
    server = await LoopbackServer(fake).start()
    issued = await make_store("custom")
    for n in range(SUBSCRIPTIONS):
        sub = await subscribe(
            issued.store.id, f"{server.url}/s{n}", ["checkout.abandoned"], SubscriptionSource.REST
        )
        fake.secrets[f"/s{n}"] = sub.secret
    for n in range(CHECKOUTS):
        await abandoned_checkout(issued.store, f"k-{n}")
    for event_id in await OutboxEvent.all().values_list("id", flat=True):
        await schedule_dispatch(queue, event_id)
    env = {
        **os.environ,
        **TEST_ENV,
        "FOLLOWUP_DATA_DIR": str(ROOT / ".data-test"),
        "FOLLOWUP_SWEEP_INTERVAL_SECONDS": "1",
        "FOLLOWUP_WEBHOOK_TIMEOUT_SECONDS": "5",  # a 0.5 s answer must not time out on a busy machine
    }
    worker = _worker(env)
    try:
        assert await _until(lambda: _received(fake, 10), 60), "the first worker delivered nothing"
        worker.send_signal(signal.SIGKILL)  # mid-delivery: jobs in flight, rows locked
        worker.wait(timeout=10)
        redis = Redis.from_url(REDIS_URL)
        await redis.flushdb()  # every queued job and deferred retry is gone
        await redis.aclose()
        before = len(fake.requests)
        assert await HookDelivery.filter(state=DeliveryState.PENDING).exists()
        worker = _worker(env)
        total = CHECKOUTS * SUBSCRIPTIONS
        done = await _until(lambda: _count(DeliveryState.DELIVERED, total), 120)
        assert done, f"{await HookDelivery.filter(state=DeliveryState.DELIVERED).count()}/{total}"
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
        await server.stop()
    assert len(fake.requests) > before
    ids = {r.headers["webhook-id"] for r in fake.requests if r.headers["x-answered"] == "200"}
    expected = set(await HookDelivery.all().values_list("webhook_id", flat=True))
    assert ids == expected and len(expected) == CHECKOUTS * SUBSCRIPTIONS
    assert all(r.verified for r in fake.requests)


async def _received(fake: Receiver, at_least: int) -> bool:
    return len(fake.requests) >= at_least


async def _count(state: DeliveryState, total: int) -> bool:
    return await HookDelivery.filter(state=state).count() >= total

"""Group commit under a crash: SIGKILL the real server mid-load; every acknowledged delivery is stored once.

`followup serve` (uvicorn) takes signed Shopify webhooks from many concurrent senders, so its
batcher always has a commit in flight, and is killed without warning. Then: every delivery it
acknowledged is in the database exactly once, and when a fresh server is sent every delivery again
(what Shopify's retries do), each one that was stored comes back a duplicate and each one that was
not is stored now; so in the end every delivery is there exactly once, none lost and none twice.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from app.ingest.models import RawEvent
from tests.conftest import TEST_ENV
from tests.factories import free_port, make_store, payload, shopify_headers

ROOT = Path(__file__).resolve().parents[2]
SENDERS = 48
KILL_AFTER = 200  # acknowledgements before the kill: the batcher is busy by then

pytestmark = pytest.mark.slow


def delivery(index: int) -> tuple[bytes, dict[str, str]]:
    """A distinct checkout per index (the body is signed, so its fingerprint is distinct too)."""
    doc = payload("shopify_checkouts_create.json")
    doc["token"] = f"crash-{index}"
    body = json.dumps(doc).encode()
    return body, shopify_headers(body, "checkouts/update", webhook_id=f"crash-{index}")


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {**os.environ, **TEST_ENV, "FOLLOWUP_DATA_DIR": str(ROOT / ".data-test")}
    return subprocess.Popen(
        [sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stderr=subprocess.DEVNULL,
    )


async def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as client:
        for _ in range(300):
            assert process.poll() is None, "the server exited while starting"
            try:
                if (await client.get(f"{url}/healthz", timeout=0.5)).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError("the server never answered")


async def load_then_kill(url: str, process: subprocess.Popen[bytes]) -> tuple[set[int], set[int]]:
    """(acknowledged, attempted): senders post until the server dies under them."""
    acknowledged: set[int] = set()
    attempted: set[int] = set()
    counter = itertools.count()
    killed = asyncio.Event()
    limits = httpx.Limits(max_connections=SENDERS, max_keepalive_connections=SENDERS)

    async def sender(client: httpx.AsyncClient) -> None:
        while True:
            index = next(counter)
            body, headers = delivery(index)
            attempted.add(index)
            try:
                response = await client.post(
                    f"{url}/webhooks/shopify", content=body, headers=headers
                )
            except httpx.HTTPError:
                assert killed.is_set(), "a request failed before the server was killed"
                return
            assert response.status_code == 200, response.text
            assert response.json() == {"status": "accepted"}
            acknowledged.add(index)
            if len(acknowledged) >= KILL_AFTER and not killed.is_set():
                killed.set()
                os.kill(process.pid, signal.SIGKILL)

    async with httpx.AsyncClient(limits=limits, timeout=30) as client:
        await asyncio.gather(*(sender(client) for _ in range(SENDERS)))
    process.wait(timeout=10)
    return acknowledged, attempted


async def stored_counts() -> dict[str, int]:
    counts: dict[str, int] = {}
    for delivery_id in await RawEvent.all().values_list("delivery_id", flat=True):
        counts[str(delivery_id)] = counts.get(str(delivery_id), 0) + 1
    return counts


async def resend(url: str, indexes: set[int]) -> dict[int, str]:
    """Every delivery again, as the platform retries what it never saw acknowledged (and more)."""
    answers: dict[int, str] = {}
    gate = asyncio.Semaphore(16)
    async with httpx.AsyncClient(timeout=30) as client:

        async def one(index: int) -> None:
            body, headers = delivery(index)
            async with gate:
                response = await client.post(
                    f"{url}/webhooks/shopify", content=body, headers=headers
                )
            assert response.status_code == 200, response.text
            answers[index] = response.json()["status"]

        await asyncio.gather(*(one(i) for i in sorted(indexes)))
    return answers


async def test_a_server_killed_mid_batch_loses_no_acknowledged_delivery_and_stores_none_twice(
    settings,
):
    await make_store("shopify")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = start_server(port)
    try:
        await wait_ready(url, server)
        acknowledged, attempted = await load_then_kill(url, server)
    finally:
        if server.poll() is None:
            server.kill()
            server.wait(timeout=10)
    assert server.returncode == -signal.SIGKILL
    assert len(attempted) > len(acknowledged) >= KILL_AFTER  # requests were in flight at the kill

    counts = await stored_counts()
    assert all(counts.get(f"crash-{i}") == 1 for i in acknowledged)
    assert set(counts.values()) == {1}
    # Group commit did happen under this load: some commits held several deliveries.
    moments = await RawEvent.all().values_list("received_at", flat=True)
    assert len(set(moments)) < len(moments)

    server = start_server(port)
    try:
        await wait_ready(url, server)
        answers = await resend(url, attempted)
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert all(answers[i] == "duplicate" for i in acknowledged)
    assert {i for i, a in answers.items() if a == "duplicate"} == {
        i for i in attempted if f"crash-{i}" in counts
    }
    final = await stored_counts()
    assert final == {f"crash-{i}": 1 for i in attempted}

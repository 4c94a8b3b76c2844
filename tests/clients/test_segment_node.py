"""Segment's own Node library (@segment/analytics-node from npm) against the app on loopback."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from app.checkouts.models import Checkout
from app.ingest.models import RawEvent
from tests.factories import make_store

CLIENT_DIR = Path(__file__).parent / "segment_node"
LIBRARY = CLIENT_DIR / "node_modules" / "@segment" / "analytics-node"


@pytest.fixture(scope="session")
def node_client() -> Path:
    """The npm package, installed from the lock file (.ci/run does it; locally on first use)."""
    if not LIBRARY.exists() and shutil.which("npm"):
        import subprocess

        subprocess.run(
            ["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENT_DIR, check=True, timeout=300
        )
    if not LIBRARY.exists() or not shutil.which("node"):
        if os.environ.get("CI") == "true":
            pytest.fail("CI must install node and @segment/analytics-node (see .ci/run)")
        pytest.skip("node/npm are not installed here, so Segment's Node library cannot run")
    return CLIENT_DIR / "send.mjs"


async def run_node(script: Path, host: str, key: str, calls: list[Any]) -> dict[str, Any]:
    """In a subprocess, so this loop keeps serving the app while node posts to it."""
    process = await asyncio.create_subprocess_exec(
        "node",
        str(script),
        json.dumps({"host": host, "writeKey": key, "calls": calls}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        cwd=CLIENT_DIR,
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0, err.decode()
    return json.loads(out.decode().strip().splitlines()[-1])


async def test_node_library_batch_with_basic_auth_is_stored(live_server, run_jobs, node_client):
    store = (await make_store("custom", domain="shop.example.com")).store
    anon = "node-anon-1"
    calls = [
        ["identify", {"anonymousId": anon, "traits": {"email": "grace@example.com"}}],
        ["page", {"anonymousId": anon, "name": "Cart"}],
        [
            "track",
            {
                "anonymousId": anon,
                "event": "Checkout Started",
                "properties": {
                    "checkout_id": "node-co-1",
                    "value": 42.5,
                    "currency": "USD",
                    "products": [{"name": "Mug", "price": 42.5, "quantity": 1}],
                },
                "context": {"traits": {"email": "grace@example.com"}},
            },
        ],
    ]
    result = await run_node(node_client, live_server, store.publishable_key, calls)
    assert result == {"statuses": [200], "errors": []}
    assert await RawEvent.filter(store=store).count() == 2
    await run_jobs()
    checkout = await Checkout.get(store=store, token="node-co-1")
    assert (checkout.email, str(checkout.total), checkout.visitor_id) == (
        "grace@example.com",
        "42.5000",
        anon,
    )


async def test_node_library_hears_a_final_error_for_an_unknown_key(live_server, node_client):
    calls = [["track", {"anonymousId": "a", "event": "Checkout Started", "properties": {}}]]
    result = await run_node(node_client, live_server, "fu_pk_unknown", calls)
    assert result["statuses"] == [404] and len(result["errors"]) == 1
    assert await RawEvent.all().count() == 0

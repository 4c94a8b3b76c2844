"""Segment's own Node library (@segment/analytics-node from npm) against the app on loopback."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from app.checkouts.models import Checkout
from app.ingest.models import RawEvent
from tests.factories import make_store
from tests.vendor_tools import npm_package, program

SCRIPT = Path(__file__).parent / "segment_send.mjs"


@pytest.fixture(scope="session")
def node_client() -> tuple[str, Path]:
    """node and the npm package (tests/tools; .ci/run installs it, a missing one skips locally)."""
    node = program("node")
    library = npm_package("@segment/analytics-node")
    return node, library.parent.parent


async def run_node(
    client: tuple[str, Path], host: str, key: str, calls: list[Any]
) -> dict[str, Any]:
    """In a subprocess, so this loop keeps serving the app while node posts to it."""
    node, modules = client
    request = {"modules": str(modules), "host": host, "writeKey": key, "calls": calls}
    process = await asyncio.create_subprocess_exec(
        node,
        str(SCRIPT),
        json.dumps(request),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
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

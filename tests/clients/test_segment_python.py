"""Segment's own Python library, configured like any Segment-compatible endpoint, against a live app."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
from typing import Any

import httpx
import pytest
from segment.analytics import Client
from segment.analytics.request import APIError

from app.checkouts.models import Checkout, Contact, Order
from app.config import use_settings
from app.ingest.models import RawEvent
from tests.conftest import make_settings
from tests.factories import make_store

ANON = "4d0c52a6-2f1e-4a9b-9d3f-6a1b2c3d4e5f"
PRODUCTS = [
    {
        "product_id": "P-1",
        "sku": "LTP-SAGE-20",
        "name": "Linen Throw Pillow",
        "price": 48,
        "quantity": 2,
    }
]


async def custom_store() -> Any:
    return (await make_store("custom", domain="shop.example.com")).store


def segment(write_key: str, host: str, *, gzip_body: bool, errors: list[Any]) -> Client:
    """The library as its README configures it; only the host is ours."""
    return Client(
        write_key=write_key,
        host=host,
        gzip=gzip_body,
        max_retries=0,
        on_error=lambda error, batch: errors.append(error),
    )


async def flush(client: Client, *, close: bool = True) -> None:
    """Deliver what is queued; closing also stops the library's sending thread for good."""
    await asyncio.to_thread(client.flush)  # the server answers from this loop meanwhile
    if close:
        await asyncio.to_thread(client.join)


@pytest.mark.parametrize("gzip_body", [False, True], ids=["plain", "gzip"])
async def test_library_batch_is_stored_and_processed(live_server, run_jobs, gzip_body):
    store = await custom_store()
    errors: list[Any] = []
    client = segment(store.publishable_key, live_server, gzip_body=gzip_body, errors=errors)
    client.identify(anonymous_id=ANON, traits={"email": "Ada@Example.com", "first_name": "Ada"})
    client.page(anonymous_id=ANON, name="Checkout")
    client.track(
        anonymous_id=ANON,
        event="Checkout Started",
        properties={"checkout_id": "co-501", "value": 96, "currency": "EUR", "products": PRODUCTS},
        context={"traits": {"email": "ada@example.com"}},
    )
    client.track(
        anonymous_id=ANON,
        event="Order Completed",
        properties={"order_id": "ord-77", "checkout_id": "co-501", "total": 96, "currency": "EUR"},
    )
    await flush(client)
    assert errors == []
    # Three kept (identify, two tracks); the page view is acknowledged and not stored.
    assert await RawEvent.filter(store=store).count() == 3
    await run_jobs()
    checkout = await Checkout.get(store=store, token="co-501")
    assert (checkout.email, checkout.currency, str(checkout.total)) == (
        "ada@example.com",
        "EUR",
        "96.0000",
    )
    assert checkout.line_items[0]["sku"] == "LTP-SAGE-20" and checkout.visitor_id == ANON
    assert checkout.status == "completed"
    assert (await Order.get(store=store)).external_id == "ord-77"
    assert (await Contact.get(store=store)).first_name == "Ada"


async def test_identify_then_track_from_the_library_is_recoverable(live_server, run_jobs):
    """Segment's standard pattern: traits once on identify, then tracks with only the ids."""
    store = await custom_store()
    errors: list[Any] = []
    client = segment(store.publishable_key, live_server, gzip_body=False, errors=errors)
    client.identify(anonymous_id=ANON, traits={"email": "lin@example.com", "phone": "+14155550199"})
    await flush(client, close=False)
    await run_jobs()
    client.track(
        anonymous_id=ANON,
        event="Checkout Started",
        properties={"checkout_id": "co-9", "value": 30, "products": PRODUCTS},
    )
    await flush(client)
    await run_jobs()
    assert errors == []
    checkout = await Checkout.get(store=store, token="co-9")
    assert (checkout.email, checkout.phone) == ("lin@example.com", "+14155550199")
    assert checkout.abandon_due_at is not None


async def test_library_reads_our_errors_as_code_and_message(live_server):
    errors: list[Any] = []
    client = segment("fu_pk_not_a_key", live_server, gzip_body=True, errors=errors)
    client.track(anonymous_id=ANON, event="Checkout Started", properties={"checkout_id": "x"})
    await flush(client)
    [error] = errors
    assert isinstance(error, APIError)
    assert (error.status, error.code) == (404, "unknown_store")
    assert "publishable key" in error.message
    assert await RawEvent.all().count() == 0


def basic(key: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode()}


@pytest.mark.parametrize("path", ["track", "identify", "page", "alias", "screen", "group"])
async def test_single_calls_with_basic_auth_alone(live_server, path):
    store = await custom_store()
    events = {
        "track": {"event": "Checkout Started", "properties": {"checkout_id": "co-1"}},
        "identify": {"traits": {"email": "ada@example.com"}},
        "page": {"name": "Cart"},
        "screen": {"name": "Cart"},
        "group": {"groupId": "g-1"},
        "alias": {"previousId": ANON, "userId": "user-9"},
    }
    body = {"anonymousId": ANON, "messageId": f"m-{path}", **events[path]}
    async with httpx.AsyncClient(base_url=live_server) as http:
        response = await http.post(f"/v1/{path}", json=body, headers=basic(store.publishable_key))
    assert response.status_code == 200, response.text
    assert response.json()["success"] is True
    stored = await RawEvent.filter(store=store)
    assert len(stored) == (1 if path in ("track", "identify", "alias") else 0)
    for raw in stored:
        assert store.publishable_key not in raw.body  # the key is not kept with the event
        assert json.loads(raw.body)["type"] == path


async def test_gzip_bomb_is_refused_by_its_decompressed_size(live_server, settings):
    store = await custom_store()
    limit = settings.server.max_body_bytes
    filler = "0" * (limit + 1)
    bomb = gzip.compress(
        json.dumps(
            {"batch": [{"type": "identify", "anonymousId": ANON, "traits": {"x": filler}}]}
        ).encode()
    )
    assert len(bomb) < limit // 100  # small on the wire
    headers = {**basic(store.publishable_key), "Content-Encoding": "gzip"}
    async with httpx.AsyncClient(base_url=live_server) as http:
        response = await http.post("/v1/batch", content=bomb, headers=headers)
        assert response.status_code == 413
        assert response.json()["code"] == "payload_too_large"
        plain = await http.post(
            "/v1/batch", content=gzip.decompress(bomb), headers=basic(store.publishable_key)
        )
        assert plain.status_code == 413 and plain.json()["code"] == "payload_too_large"
        broken = await http.post("/v1/batch", content=bomb[:40], headers=headers)
        assert broken.status_code == 400 and "gzip" in broken.json()["message"]
        other = await http.post(
            "/v1/batch", content=b"{}", headers={**headers, "Content-Encoding": "br"}
        )
        assert other.status_code == 415 and other.json()["code"] == "unsupported_encoding"
    assert await RawEvent.all().count() == 0


async def test_collect_endpoint_takes_the_same_gzip_and_basic_auth(client):
    store = await custom_store()
    event = {"type": "identify", "anonymousId": ANON, "traits": {"email": "ada@example.com"}}
    headers = {**basic(store.publishable_key), "Content-Encoding": "gzip"}
    body = gzip.compress(json.dumps(event).encode())
    response = await client.post("/collect/v1/events", content=body, headers=headers)
    assert response.status_code == 202, response.text
    assert await RawEvent.filter(store=store).count() == 1


async def test_rate_limit_and_bad_events_answer_in_segment_shape(live_server, settings):
    store = await custom_store()
    use_settings(make_settings(FOLLOWUP_COLLECT_RATE_PER_MINUTE="2"))
    try:
        async with httpx.AsyncClient(base_url=live_server) as http:
            bad = await http.post(
                "/v1/batch",
                json={"batch": [{"type": "track"}]},
                headers=basic(store.publishable_key),
            )
            assert bad.status_code == 400
            assert bad.json()["code"] == "invalid_event" and "event" in bad.json()["message"]
            body = {"batch": [{"type": "page", "anonymousId": ANON}]}
            ok = await http.post("/v1/batch", json=body, headers=basic(store.publishable_key))
            assert ok.status_code == 200
            limited = await http.post("/v1/batch", json=body, headers=basic(store.publishable_key))
    finally:
        use_settings(settings)
    assert limited.status_code == 429 and limited.json()["code"] == "rate_limited"
    assert int(limited.headers["retry-after"]) > 0

"""Group commit on the capture path: deliveries handed in together share one insert and one commit,
duplicates are settled per delivery, a failed write fails exactly its batch, a cancelled caller's
delivery is stored once."""

from __future__ import annotations

import asyncio
import json

import pytest
from tortoise import connections

from app.core.db import is_postgres
from app.core.errors import ApiError
from app.ingest.models import OrderSeen, RawEvent
from app.ingest.services import Delivery, accept
from app.integrations.shopify import webhooks as shopify
from app.stores.models import Store
from tests.factories import make_store, payload, shopify_headers


def delivery(
    token: str, webhook_id: str | None = None, topic: str = "checkouts/update"
) -> Delivery:
    doc = payload(
        "shopify_orders_create.json"
        if topic.startswith("orders")
        else "shopify_checkouts_create.json"
    )
    doc["checkout_token" if topic.startswith("orders") else "token"] = token
    body = json.dumps(doc).encode()
    headers = shopify_headers(body, topic, webhook_id=webhook_id or f"hook-{token}")
    return shopify.to_delivery(body, {k.lower(): v for k, v in headers.items()})


async def accept_together(store: Store, *deliveries: Delivery) -> list[int | BaseException | None]:
    """Handed in within one turn of the event loop, as concurrent requests are under load."""
    return await asyncio.gather(
        *(accept(store, d, None) for d in deliveries), return_exceptions=True
    )


async def test_deliveries_handed_in_together_share_one_commit_and_each_is_deduplicated(settings):
    store = (await make_store("shopify")).store
    first = delivery("cart-1")
    results = await accept_together(
        store,
        first,
        delivery("cart-2"),
        first,  # the same delivery twice in one batch (a retry racing the original)
        delivery("cart-1", webhook_id="hook-replayed"),  # same signed body, fresh id: a replay
        delivery("order-1", topic="orders/create"),
        delivery("order-1", topic="orders/create"),  # the order twice: one row, one seen order
    )
    assert [r is not None for r in results] == [True, True, False, False, True, False]
    rows = await RawEvent.all().order_by("id")
    assert [r.id for r in rows] == [results[0], results[1], results[4]]
    assert len({r.received_at for r in rows}) == 1  # one statement, one commit
    seen = await OrderSeen.all()
    assert [(s.raw_event_id, s.checkout_token) for s in seen] == [(results[4], "order-1")]

    again = await accept_together(store, first, delivery("cart-3"))  # the next batch
    assert again[0] is None and isinstance(again[1], int)
    assert await RawEvent.all().count() == 4


@pytest.fixture
async def poisoned(settings):
    """A trigger in the database refuses one delivery id: a real write error, in a real batch."""
    conn = connections.get("default")
    if is_postgres():
        await conn.execute_script(
            "CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            " IF NEW.delivery_id = 'hook-poison' THEN RAISE EXCEPTION 'poisoned'; END IF;"
            " RETURN NEW; END $$;"
            " CREATE TRIGGER poison BEFORE INSERT ON raw_event"
            " FOR EACH ROW EXECUTE FUNCTION poison();"
        )
    else:
        await conn.execute_script(
            "CREATE TRIGGER poison BEFORE INSERT ON raw_event"
            " WHEN NEW.delivery_id = 'hook-poison' BEGIN SELECT RAISE(ABORT, 'poisoned'); END;"
        )
    yield
    await conn.execute_script(
        "DROP TRIGGER poison ON raw_event; DROP FUNCTION poison();"
        if is_postgres()
        else "DROP TRIGGER poison;"
    )


async def test_a_failed_write_fails_exactly_its_batch_with_a_retryable_error(poisoned, client):
    store = (await make_store("shopify")).store
    results = await accept_together(
        store, delivery("cart-1"), delivery("poison"), delivery("cart-2")
    )
    assert all(isinstance(r, ApiError) and r.status_code == 503 for r in results)
    assert (
        await RawEvent.all().count() == 0
    )  # rolled back whole: nothing acknowledged, nothing kept

    later = await accept_together(store, delivery("cart-1"), delivery("cart-2"))
    assert all(isinstance(r, int) for r in later)  # the next batch is on its own

    body = json.dumps({**payload("shopify_checkouts_create.json"), "token": "poison"}).encode()
    response = await client.post(
        "/webhooks/shopify",
        content=body,
        headers=shopify_headers(body, "checkouts/update", webhook_id="hook-poison"),
    )
    assert response.status_code == 503 and response.headers["retry-after"] == "1"
    assert response.json()["error"] == "not_stored"
    assert await RawEvent.all().count() == 2


async def test_a_cancelled_request_still_has_its_delivery_stored_exactly_once(settings):
    store = (await make_store("shopify")).store
    cancelled = asyncio.create_task(accept(store, delivery("cart-1"), None))
    await asyncio.sleep(0)  # it has handed its row in and waits for the commit
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert (
        await accept(store, delivery("cart-1"), None) is None
    )  # the platform's retry: a duplicate
    assert await RawEvent.filter(delivery_id="hook-cart-1").count() == 1


@pytest.mark.postgres_only("column compression is PostgreSQL's")
async def test_bodies_are_compressed_with_lz4_and_read_back_whole(settings):
    """The compression that runs inside every acknowledged commit is LZ4, not pglz (about a
    third of the CPU for a Shopify body); the stored body is byte for byte what was signed."""
    store = (await make_store("shopify")).store
    sent = delivery("cart-lz4")
    [raw_id] = await accept_together(store, sent)
    conn = connections.get("default")
    [row] = await conn.execute_query_dict(
        "SELECT pg_column_compression(body) AS method, body FROM raw_event WHERE id = $1",
        [raw_id],
    )
    assert row["method"] == "lz4"
    assert row["body"].encode() == sent.body

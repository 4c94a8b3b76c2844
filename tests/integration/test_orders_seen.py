"""Orders seen at capture: a placed order's keys are stored with its raw event, before any drain;
other deliveries and unpaid orders store none."""

from __future__ import annotations

import hashlib
import json

from app.ingest.models import OrderSeen, RawEvent
from tests.factories import make_store, payload, payload_bytes, shopify_headers, woo_headers


def sha(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


async def test_a_shopify_order_is_seen_when_it_is_acknowledged(client):
    store = (await make_store("shopify")).store
    body = payload_bytes("shopify_orders_create.json")
    response = await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "orders/create")
    )
    assert response.status_code == 200, response.text
    seen = await OrderSeen.get()
    raw = await RawEvent.get()
    assert (seen.store_id, seen.raw_event_id) == (store.id, raw.id)  # type: ignore[attr-defined]
    assert seen.checkout_token == "e3b0f1c2a9d84c7b8f6e5d4c3b2a1908"
    document = json.loads(body)
    assert seen.email_digest == sha(document["email"].strip().lower())
    assert seen.phone_digest is not None and document["email"] not in json.dumps(
        [seen.email_digest, seen.phone_digest]
    )
    again = await client.post(  # the same delivery again: stored once, seen once
        "/webhooks/shopify",
        content=body,
        headers=shopify_headers(body, "orders/create", webhook_id=raw.delivery_id),
    )
    assert again.json() == {"status": "duplicate"} and await OrderSeen.all().count() == 1


async def test_checkouts_and_unpaid_orders_are_not_seen_as_orders(client):
    issued = await make_store("woocommerce")
    body = payload_bytes("shopify_checkouts_create.json")
    await make_store("shopify")
    await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/update")
    )
    # A failed payment is no order; a `pending` one is placed and awaiting payment (seen, like
    # on-hold), so the unpaid order here is a failed one.
    pending = {**payload("woocommerce_order_created.json"), "status": "failed"}
    raw = json.dumps(pending).encode()
    response = await client.post(
        f"/webhooks/woocommerce/{issued.store.id}",
        content=raw,
        headers=woo_headers(raw, issued.webhook_secret or ""),
    )
    assert response.status_code == 200, response.text
    paid = json.dumps({**pending, "status": "processing"}).encode()
    await client.post(
        f"/webhooks/woocommerce/{issued.store.id}",
        content=paid,
        headers=woo_headers(paid, issued.webhook_secret or "", "order.updated"),
    )
    assert await RawEvent.all().count() == 3
    [seen] = await OrderSeen.all()
    assert seen.store_id == issued.store.id and seen.checkout_token == f"wc-order-{pending['id']}"  # type: ignore[attr-defined]
    assert seen.cart_token == pending["cart_hash"]

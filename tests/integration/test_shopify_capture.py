"""Shopify webhooks end to end: verified, stored once, processed into the canonical model."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.checkouts.models import Checkout, CheckoutStatus, Contact, Order
from app.checkouts.services import mark_abandoned
from app.core.redis import QUEUE
from app.ingest.models import RawEvent, RawStatus
from tests.factories import (
    fresh_shopify_checkout,
    make_store,
    payload,
    payload_bytes,
    shopify_headers,
)

SAMPLE_HEADERS = json.loads(payload_bytes("shopify_webhook_headers_checkouts_create.json"))


async def test_documented_sample_is_accepted_with_its_own_signature(client, run_jobs):
    await make_store("shopify")
    body = payload_bytes("shopify_checkouts_create.json")
    response = await client.post("/webhooks/shopify", content=body, headers=SAMPLE_HEADERS)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted"}
    raw = await RawEvent.get()
    assert raw.delivery_id == SAMPLE_HEADERS["X-Shopify-Webhook-Id"]
    assert raw.event_id == SAMPLE_HEADERS["X-Shopify-Event-Id"]
    assert raw.triggered_at == datetime(2026, 1, 8, 18, 41, 7, 512000, tzinfo=UTC)

    await run_jobs()
    checkout = await Checkout.get(token="e3b0f1c2a9d84c7b8f6e5d4c3b2a1908")
    # The documented sample was last updated in January: long past the 15-minute threshold.
    assert checkout.status == CheckoutStatus.ABANDONED and checkout.abandoned_at is not None
    assert checkout.total == Decimal("118.00") and checkout.currency == "USD"
    assert checkout.email == "maya.okafor@example.com" and checkout.phone == "+14155550173"
    assert [i["sku"] for i in checkout.line_items] == ["LTP-SAGE-20", "MUG-OAT"]
    assert checkout.line_items[0]["unit_price"] == "48.00"
    assert checkout.recovery_url.startswith("https://velvet-fern-goods.myshopify.com/")
    contact = await Contact.get(email="maya.okafor@example.com")
    assert contact.sms_consent and contact.sms_consent_source == "shopify_checkout"
    assert contact.first_name == "Maya" and contact.country == "US"
    assert (await RawEvent.get()).status == RawStatus.PROCESSED
    assert checkout.last_activity_at == datetime(2026, 1, 8, 18, 42, 55, tzinfo=UTC)


async def test_fresh_checkout_stays_open_until_the_threshold(client, run_jobs):
    await make_store("shopify")
    body = fresh_shopify_checkout()
    await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/update")
    )
    await run_jobs()
    checkout = await Checkout.get()
    assert checkout.status == CheckoutStatus.OPEN
    assert checkout.abandon_due_at == checkout.last_activity_at + timedelta(seconds=900)


async def _abandon_jobs(redis) -> list[bytes]:
    return [j for j in await redis.zrange(QUEUE, 0, -1) if j.startswith(b"abandon:")]


async def test_completed_or_deleted_checkout_schedules_no_abandon_check(client, run_jobs, redis):
    """A terminal checkout has no abandon time, so nothing may queue a check for it."""
    await make_store("shopify")
    now = datetime.now(UTC).isoformat()
    deliveries = [
        (fresh_shopify_checkout(token="done", completed_at=now), "checkouts/update"),
        (fresh_shopify_checkout(token="gone"), "checkouts/delete"),
    ]
    for body, topic in deliveries:
        await client.post("/webhooks/shopify", content=body, headers=shopify_headers(body, topic))
    await run_jobs()
    assert await _abandon_jobs(redis) == []
    statuses = {c.token: (c.status, c.abandon_due_at) for c in await Checkout.all()}
    assert statuses == {
        "done": (CheckoutStatus.COMPLETED, None),
        "gone": (CheckoutStatus.EXPIRED, None),
    }

    body = fresh_shopify_checkout(token="live")  # the control: an open one does get its check
    await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/update")
    )
    await run_jobs()
    live = await Checkout.get(token="live")
    assert await _abandon_jobs(redis) == [
        f"abandon:{live.id}:{int(live.abandon_due_at.timestamp())}".encode()
    ]


async def test_duplicate_delivery_is_stored_once(client):
    await make_store("shopify")
    body = payload_bytes("shopify_checkouts_create.json")
    first = await client.post("/webhooks/shopify", content=body, headers=SAMPLE_HEADERS)
    second = await client.post("/webhooks/shopify", content=body, headers=SAMPLE_HEADERS)
    assert first.json()["status"] == "accepted"
    assert second.status_code == 200 and second.json()["status"] == "duplicate"
    assert await RawEvent.all().count() == 1


async def test_bad_signature_is_refused_and_nothing_stored(client):
    await make_store("shopify")
    body = payload_bytes("shopify_checkouts_create.json")
    tampered = body.replace(b"118.00", b"1.00")
    response = await client.post("/webhooks/shopify", content=tampered, headers=SAMPLE_HEADERS)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    missing = {k: v for k, v in SAMPLE_HEADERS.items() if k != "X-Shopify-Hmac-Sha256"}
    assert (
        await client.post("/webhooks/shopify", content=body, headers=missing)
    ).status_code == 401
    assert await RawEvent.all().count() == 0


async def test_malformed_json_unknown_shop_and_unknown_topic(client):
    await make_store("shopify")
    bad = b'{"token": '
    response = await client.post(
        "/webhooks/shopify", content=bad, headers=shopify_headers(bad, "checkouts/update")
    )
    assert response.status_code == 400 and "JSON" in response.json()["detail"]
    body = payload_bytes("shopify_checkouts_create.json")
    other_shop = shopify_headers(body, "checkouts/update", shop="someone-else.myshopify.com")
    assert (
        await client.post("/webhooks/shopify", content=body, headers=other_shop)
    ).status_code == 404
    unknown = await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "products/update")
    )
    assert unknown.status_code == 200 and unknown.json()["status"] == "ignored"
    assert await RawEvent.all().count() == 0


async def test_oversized_body_is_413(client):
    await make_store("shopify")
    body = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/update")
    )
    assert response.status_code == 413
    assert await RawEvent.all().count() == 0


async def _in_chunks(body: bytes, size: int):
    for start in range(0, len(body), size):
        yield body[start : start + size]


async def test_a_body_sent_in_chunks_is_read_whole_and_refused_once_past_the_limit(client):
    """No Content-Length (chunked transfer): the body is joined from its parts, and one that
    grows past the limit is refused with 413 as it arrives, storing nothing."""
    await make_store("shopify")
    body = payload_bytes("shopify_checkouts_create.json")
    response = await client.post(
        "/webhooks/shopify",
        content=_in_chunks(body, 300),
        headers=shopify_headers(body, "checkouts/update"),
    )
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted"}
    assert (await RawEvent.get()).body == body.decode()

    oversized = b'{"pad": "' + b"x" * (1024 * 1024 + 10) + b'"}'
    response = await client.post(
        "/webhooks/shopify",
        content=_in_chunks(oversized, 64 * 1024),
        headers=shopify_headers(oversized, "checkouts/update"),
    )
    assert response.status_code == 413
    assert "application/json" in response.headers["content-type"]
    assert await RawEvent.all().count() == 1


async def test_order_completes_checkout_and_late_update_does_not_reopen(client, run_jobs):
    await make_store("shopify")
    checkout_body = payload_bytes("shopify_checkouts_create.json")
    order_body = payload_bytes("shopify_orders_create.json")
    await client.post(
        "/webhooks/shopify",
        content=checkout_body,
        headers=shopify_headers(checkout_body, "checkouts/create"),
    )
    await run_jobs()
    await client.post(
        "/webhooks/shopify",
        content=order_body,
        headers=shopify_headers(order_body, "orders/create"),
    )
    await run_jobs()
    checkout = await Checkout.get()
    assert checkout.status == CheckoutStatus.COMPLETED
    order = await Order.get()
    assert order.checkout_id == checkout.id and order.total == Decimal("106.20")
    assert order.discount_codes == ["COMEBACK10"]

    late = payload("shopify_checkouts_create.json")
    late["updated_at"] = "2026-01-10T00:00:00-05:00"
    late["line_items"] = late["line_items"][:1]
    late_body = json.dumps(late).encode()
    await client.post(
        "/webhooks/shopify",
        content=late_body,
        headers=shopify_headers(late_body, "checkouts/update"),
    )
    await run_jobs()
    checkout = await Checkout.get()
    assert checkout.status == CheckoutStatus.COMPLETED
    assert len(checkout.line_items) == 2


async def test_order_before_checkout_still_completes_it(client, run_jobs):
    await make_store("shopify")
    order_body = payload_bytes("shopify_orders_create.json")
    checkout_body = payload_bytes("shopify_checkouts_create.json")
    await client.post(
        "/webhooks/shopify", content=order_body, headers=shopify_headers(order_body, "orders/paid")
    )
    await client.post(
        "/webhooks/shopify",
        content=checkout_body,
        headers=shopify_headers(checkout_body, "checkouts/update"),
    )
    await run_jobs()
    checkout = await Checkout.get()
    assert checkout.status == CheckoutStatus.COMPLETED
    assert checkout.abandon_due_at is None
    assert await mark_abandoned(checkout.id, datetime.now(UTC) + timedelta(days=1)) is None


async def test_older_update_loses(client, run_jobs):
    await make_store("shopify")
    newer = payload("shopify_checkouts_create.json")
    older = payload("shopify_checkouts_create.json")
    older["updated_at"] = "2026-01-08T13:41:30-05:00"
    older["line_items"] = older["line_items"][:1]
    for doc, topic in ((newer, "checkouts/update"), (older, "checkouts/update")):
        body = json.dumps(doc).encode()
        await client.post("/webhooks/shopify", content=body, headers=shopify_headers(body, topic))
        await run_jobs()
    checkout = await Checkout.get()
    assert len(checkout.line_items) == 2


async def test_a_replayed_body_with_a_fresh_delivery_id_is_a_duplicate(client, run_jobs):
    """Headers are not signed: a captured body resent under new ids must not be stored again."""
    await make_store("shopify")
    body = payload_bytes("shopify_checkouts_create.json")
    first = await client.post("/webhooks/shopify", content=body, headers=SAMPLE_HEADERS)
    assert first.json() == {"status": "accepted"}
    for _ in range(3):
        replay = shopify_headers(body, "checkouts/create")  # new webhook and event ids
        response = await client.post("/webhooks/shopify", content=body, headers=replay)
        assert response.status_code == 200 and response.json() == {"status": "duplicate"}
    assert await RawEvent.all().count() == 1
    # Under another topic the same body is another delivery (create, then an unchanged update).
    other = shopify_headers(body, "checkouts/update")
    assert (await client.post("/webhooks/shopify", content=body, headers=other)).json() == {
        "status": "accepted"
    }
    assert await RawEvent.all().count() == 2


async def test_one_shopify_event_is_stored_once_whatever_subscription_delivers_it(client):
    """Two subscriptions (say, at different API versions) deliver one event under two ids."""
    await make_store("shopify")
    event_id = "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043"
    stored = []
    for version, webhook_id in (("2026-01", "w-1"), ("2025-10", "w-2")):
        body = fresh_shopify_checkout(token="t-1", note=f"api {version}")
        headers = shopify_headers(body, "checkouts/update", webhook_id=webhook_id)
        headers |= {"X-Shopify-Event-Id": event_id, "X-Shopify-API-Version": version}
        stored.append(
            (await client.post("/webhooks/shopify", content=body, headers=headers)).json()
        )
    assert stored == [{"status": "accepted"}, {"status": "duplicate"}]
    raw = await RawEvent.get()
    assert (raw.delivery_id, raw.event_id) == ("w-1", event_id)

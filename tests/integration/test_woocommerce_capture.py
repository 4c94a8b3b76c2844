"""WooCommerce native webhooks (the no-plugin path) and the plugin's signed cart events."""

from __future__ import annotations

import json
import time
from decimal import Decimal

from app.checkouts.models import Checkout, CheckoutStatus, Order
from app.ingest.models import RawEvent
from tests.factories import jbytes, make_store, payload, payload_bytes, plugin_headers, woo_headers

SAMPLE_HEADERS = json.loads(payload_bytes("woocommerce_webhook_headers_order_created.json"))
SAMPLE_SECRET = "wc_test_secret_do_not_use"


async def woo_store():
    issued = await make_store("woocommerce")
    issued.store.webhook_secret = SAMPLE_SECRET
    await issued.store.save()
    return issued.store


async def test_ping_gets_exactly_200_without_signature(client):
    store = await woo_store()
    response = await client.post(
        f"/webhooks/woocommerce/{store.id}",
        content=b"webhook_id=14",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200
    assert await RawEvent.all().count() == 0


async def test_documented_pending_order_is_placed_awaiting_payment_with_its_checkout(
    client, run_jobs
):
    """WooCommerce's `pending` is "order received, awaiting payment": an order placed and not
    paid (the payment-pending flows take it), whose pay-for-order page is kept as its checkout,
    settled by the order like any placed one."""
    store = await woo_store()
    body = payload_bytes("woocommerce_order_created.json")
    response = await client.post(
        f"/webhooks/woocommerce/{store.id}", content=body, headers=SAMPLE_HEADERS
    )
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    await run_jobs()
    checkout = await Checkout.get(store=store)
    assert checkout.token == "wc-order-5127"
    assert checkout.status == CheckoutStatus.COMPLETED  # its order was placed
    order = await Order.get(store=store)
    assert order.placed and order.financial_status == "pending"
    assert order.checkout_id == checkout.id and order.total == Decimal("41.68")
    assert checkout.email == "luis.serrano@example.net" and checkout.phone == "+12075550148"
    assert checkout.total == Decimal("41.68") and checkout.total_shipping == Decimal("6.95")
    assert checkout.recovery_url.endswith("pay_for_order=true&key=wc_order_Zq3xK9mPt2LbR")
    assert checkout.line_items[0]["unit_price"] == "12.50"
    assert checkout.device == "desktop"


async def test_a_failed_order_stays_a_recoverable_checkout(client, run_jobs):
    store = await woo_store()
    body = jbytes({**payload("woocommerce_order_created.json"), "status": "failed"})
    response = await client.post(
        f"/webhooks/woocommerce/{store.id}", content=body, headers=woo_headers(body, SAMPLE_SECRET)
    )
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    await run_jobs()
    checkout = await Checkout.get(store=store)
    assert checkout.status == CheckoutStatus.ABANDONED  # unpaid since January
    order = await Order.get(store=store)
    assert not order.placed and order.financial_status == "failed"


async def test_order_updated_to_processing_completes_it_and_dedupes(client, run_jobs):
    store = await woo_store()
    created = payload("woocommerce_order_created.json")
    body = jbytes(created)
    await client.post(
        f"/webhooks/woocommerce/{store.id}", content=body, headers=woo_headers(body, SAMPLE_SECRET)
    )
    paid = {**created, "status": "on-hold", "payment_method": "bacs"}
    paid_body = jbytes(paid)
    headers = woo_headers(paid_body, SAMPLE_SECRET, topic="order.updated", delivery_id="d-2")
    first = await client.post(
        f"/webhooks/woocommerce/{store.id}", content=paid_body, headers=headers
    )
    again = await client.post(
        f"/webhooks/woocommerce/{store.id}", content=paid_body, headers=headers
    )
    assert first.json()["status"] == "accepted" and again.json()["status"] == "duplicate"
    await run_jobs()
    checkout = await Checkout.get(store=store)
    assert checkout.status == CheckoutStatus.COMPLETED
    order = await Order.get(store=store)
    assert order.placed and order.financial_status == "on-hold" and order.checkout_id == checkout.id


async def test_wrong_secret_and_unknown_store(client):
    store = await woo_store()
    body = payload_bytes("woocommerce_order_created.json")
    bad = await client.post(
        f"/webhooks/woocommerce/{store.id}",
        content=body,
        headers=woo_headers(body, "not-the-secret"),
    )
    assert bad.status_code == 401
    missing = await client.post(
        "/webhooks/woocommerce/999999", content=body, headers=SAMPLE_HEADERS
    )
    assert missing.status_code == 404
    assert await RawEvent.all().count() == 0


def plugin_cart(email: str = "ana@example.com") -> dict:
    return {
        "type": "cart.updated",
        "id": "evt-1",
        "occurred_at": "2026-01-08T19:00:00Z",
        "device": "mobile",
        "cart": {
            "restore_token": "rt_abc123",
            "cart_hash": "hash-1",
            "currency": "USD",
            "locale": "en_US",
            "subtotal": "25.00",
            "discount": "0",
            "shipping": "0",
            "tax": "0",
            "total": "25.00",
            "recovery_url": "https://shop.tidewaterteas.example/?followup_restore=rt_abc123",
            "items": [
                {
                    "product_id": 311,
                    "variation_id": 318,
                    "name": "Wild Blueberry Black Tea",
                    "variant": "4 oz tin",
                    "sku": "TEA-WBB-4",
                    "quantity": 2,
                    "price": "12.50",
                    "image_url": "https://shop.tidewaterteas.example/tin.jpg",
                    "product_url": "https://shop.tidewaterteas.example/p/tea",
                }
            ],
        },
        "customer": {
            "email": email,
            "phone": "(207) 555-0148",
            "country": "US",
            "first_name": "Ana",
            "sms_consent": True,
            "email_consent": True,
        },
    }


async def test_plugin_cart_event_is_verified_and_captured(client, run_jobs):
    store = await woo_store()
    body = jbytes(plugin_cart())
    response = await client.post(
        f"/webhooks/woocommerce/{store.id}",
        content=body,
        headers=plugin_headers(body, SAMPLE_SECRET),
    )
    assert response.status_code == 200, response.text
    await run_jobs()
    checkout = await Checkout.get(store=store, token="rt_abc123")
    assert checkout.device == "mobile" and checkout.phone == "+12075550148"
    assert checkout.line_items[0]["product_url"] == "https://shop.tidewaterteas.example/p/tea"
    contact = await checkout.contact
    assert contact.sms_consent and contact.sms_consent_source == "woocommerce_plugin"


async def test_plugin_event_refused_when_tampered_wrong_secret_or_stale(client):
    store = await woo_store()
    body = jbytes(plugin_cart())
    url = f"/webhooks/woocommerce/{store.id}"
    tampered = await client.post(
        url, content=body.replace(b"25.00", b"2.00"), headers=plugin_headers(body, SAMPLE_SECRET)
    )
    wrong = await client.post(url, content=body, headers=plugin_headers(body, "other-secret"))
    stale = await client.post(
        url,
        content=body,
        headers=plugin_headers(body, SAMPLE_SECRET, timestamp=int(time.time()) - 301),
    )
    assert [r.status_code for r in (tampered, wrong, stale)] == [401, 401, 401]
    assert "five-minute" in stale.json()["detail"]
    assert await RawEvent.all().count() == 0


async def test_invalid_phone_is_kept_as_null_with_the_reason(client, run_jobs):
    store = await woo_store()
    cart = plugin_cart("lee@example.com")
    cart["customer"]["phone"] = "12"
    body = jbytes(cart)
    await client.post(
        f"/webhooks/woocommerce/{store.id}",
        content=body,
        headers=plugin_headers(body, SAMPLE_SECRET),
    )
    await run_jobs()
    checkout = await Checkout.get(store=store)
    assert checkout.phone is None and "invalid phone '12'" in checkout.phone_invalid_reason
    assert checkout.email == "lee@example.com" and checkout.reachable
    assert (await checkout.contact).phone_invalid_reason == checkout.phone_invalid_reason


async def test_order_without_tokens_matches_the_same_shoppers_recent_checkout(client, run_jobs):
    store = await woo_store()
    body = jbytes(plugin_cart("ana@example.com"))
    await client.post(
        f"/webhooks/woocommerce/{store.id}",
        content=body,
        headers=plugin_headers(body, SAMPLE_SECRET),
    )
    await run_jobs()
    # A phone order keyed in by staff: no restore token, no cart hash, same shopper.
    order = {
        "type": "order.placed",
        "occurred_at": "2026-01-08T20:00:00Z",
        "order": {
            "id": 991,
            "status": "processing",
            "total": "25.00",
            "currency": "USD",
            "created_at": "2026-01-08T20:00:00Z",
        },
        "customer": {"email": "ANA@example.com"},
        "cart": {},
    }
    order_body = jbytes(order)
    await client.post(
        f"/webhooks/woocommerce/{store.id}",
        content=order_body,
        headers=plugin_headers(order_body, SAMPLE_SECRET, event="order.placed"),
    )
    await run_jobs()
    checkout = await Checkout.get(store=store, token="rt_abc123")
    assert checkout.status in (CheckoutStatus.COMPLETED, CheckoutStatus.RECOVERED)
    assert (await Order.get(store=store)).checkout_id == checkout.id

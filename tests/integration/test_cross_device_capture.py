"""Two devices, two doors: a cart captured by the snippet on a phone and one from a Shopify
webhook on a laptop, same shopper, are one abandonment: one sequence, one recovery in the stats."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from app.checkouts.models import Checkout, CheckoutStatus
from app.recovery.models import Enrollment, EnrollmentStatus
from tests.factories import fresh_shopify_checkout, make_store, payload, shopify_headers

ORIGIN = {"Origin": "https://velvet-fern-goods.myshopify.com"}


async def test_snippet_and_shopify_carts_of_one_shopper_are_one_abandonment(client, run_jobs):
    issued = await make_store("shopify")
    store = issued.store
    now = datetime.now(UTC)
    phone = payload("segment_checkout_started.json")
    phone["messageId"] = uuid.uuid4().hex
    phone["timestamp"] = (now - timedelta(hours=2)).isoformat()
    phone["properties"]["order_id"] = "phone-cart-0001"
    phone["context"]["device"] = {"type": "mobile"}
    url = f"/collect/v1/events?key={store.publishable_key}"
    assert (await client.post(url, json=phone, headers=ORIGIN)).status_code == 202
    await run_jobs()
    await run_jobs()
    phone_cart = await Checkout.get(store=store, token="phone-cart-0001")
    assert phone_cart.status == CheckoutStatus.ABANDONED
    first = await Enrollment.get(checkout_id=phone_cart.id)
    assert first.status in (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)

    laptop = fresh_shopify_checkout(updated_at=(now - timedelta(minutes=30)).isoformat())
    headers = shopify_headers(laptop, "checkouts/create")
    assert (
        await client.post("/webhooks/shopify", content=laptop, headers=headers)
    ).status_code == 200
    await run_jobs()
    await run_jobs()
    laptop_cart = await Checkout.get(store=store, token="e3b0f1c2a9d84c7b8f6e5d4c3b2a1908")
    assert laptop_cart.status == CheckoutStatus.ABANDONED
    assert laptop_cart.contact_id == phone_cart.contact_id  # same email: the same shopper

    live = await Enrollment.filter(
        contact_id=phone_cart.contact_id,
        status__in=(EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED),
    )
    assert [e.checkout_id for e in live] == [laptop_cart.id]  # one sequence, the newer cart's
    stopped = await Enrollment.get(id=first.id)
    assert (stopped.status, stopped.stop_reason) == ("stopped", "replaced_by_newer_cart")
    assert (await Checkout.get(id=phone_cart.id)).superseded_by_id == laptop_cart.id

    # A recovery step reached the shopper; then they order on the phone (its checkout token).
    await Checkout.filter(id=laptop_cart.id).update(recovery_contacted_at=now)
    order = {
        "type": "track",
        "event": "Order Completed",
        "messageId": uuid.uuid4().hex,
        "context": {"traits": {"email": phone_cart.email}},
        "properties": {"checkout_id": "phone-cart-0001", "order_id": "1001", "total": 118},
    }
    assert (await client.post(url, json=order, headers=ORIGIN)).status_code == 202
    await run_jobs()
    await run_jobs()
    assert (await Checkout.get(id=laptop_cart.id)).status == CheckoutStatus.RECOVERED
    assert (await Checkout.get(id=phone_cart.id)).status == CheckoutStatus.ABANDONED
    stats = await client.get(
        "/api/v1/stats", headers={"Authorization": f"Bearer {issued.api_token}"}
    )
    assert stats.status_code == 200, stats.text
    body = stats.json()
    assert body["funnel"]["abandoned"] == 1  # one abandonment, not two
    assert body["funnel"]["recovered"] == 1
    assert body["attribution"]["recovered"]["orders"] == 1

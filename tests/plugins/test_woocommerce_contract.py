"""Cross-language contract: requests signed by the plugin's PHP are accepted by the Python app.

And what is not signed right (tampered body, wrong secret, stale timestamp) is refused with nothing
stored. WooCommerce's native webhooks keep working alongside, as the no-plugin fallback.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from app.checkouts.models import Checkout, CheckoutStatus, Contact, ContactHistory, Order
from app.ingest.models import RawEvent, RawStatus
from app.stores.models import Store
from tests.factories import b64_hmac, make_store, payload, payload_bytes, woo_headers
from tests.plugins.conftest import php_request

PHP = pytest.mark.needs_tool("php")  # the requests are signed by the plugin's own PHP

SHOPPER = {
    "email": "Ana.Lima@Example.com",
    "phone": "+1 415 555 0100",
    "first_name": "Ana",
    "last_name": "Lima",
    "country": "US",
    "sms_consent": "1",
}


async def _post(client, request: dict) -> object:
    return await client.post(
        urlsplit(request["url"]).path, content=request["body"].encode(), headers=request["headers"]
    )


async def _signed_cart(client, store_id: int, secret: str) -> dict:
    request = php_request("cart", store_id, secret, json.dumps(SHOPPER))
    response = await _post(client, request)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted"}
    return request


@PHP
async def test_php_signed_cart_becomes_a_checkout(client, run_jobs):
    issued = await make_store("woocommerce")
    request = await _signed_cart(client, issued.store.id, issued.webhook_secret)
    await run_jobs()

    checkout = await Checkout.get(token=request["token"])
    assert checkout.status == CheckoutStatus.OPEN
    assert checkout.email == "ana.lima@example.com" and checkout.phone == "+14155550100"
    assert [
        (i["title"], i["sku"], i["quantity"], i["unit_price"]) for i in checkout.line_items
    ] == [
        ("Sencha Kyoto Green Tea", "TEA-SENCHA-100", 2, "14.50"),
        ("Cast Iron Teapot", "POT-IRON-08", 1, "39.00"),
    ]
    assert checkout.line_items[1]["variant_title"] == "Matte black"
    assert checkout.line_items[1]["variant_id"] == "206"
    assert (checkout.subtotal, checkout.total_discounts, checkout.total) == (
        Decimal("68.00"),
        Decimal("6.80"),
        Decimal("71.50"),
    )
    assert checkout.total_shipping == Decimal("5.00") and checkout.total_tax == Decimal("5.30")
    assert checkout.discount_codes == ["WELCOME10"] and checkout.currency == "USD"
    assert checkout.cart_token == "5f2c9a4be1d07c3e8a6b4d2f1e0c9b8a"
    assert checkout.recovery_url.endswith(f"?followup_restore={request['token']}")
    assert checkout.device == "mobile" and checkout.locale == "en_US"
    contact = await Contact.get(email="ana.lima@example.com")
    assert contact.sms_consent and contact.sms_consent_source == "woocommerce_plugin"
    assert (await RawEvent.get()).status == RawStatus.PROCESSED


@PHP
async def test_php_signed_cart_with_a_birthday_sets_the_contacts_next_birthday(client, run_jobs):
    """The birthday the checkout field sent (checked by the plugin's PHP) reaches the contact and
    its history: the next 17 May at 09:00 in the shopper's zone, Tokyo's being 00:00 UTC."""
    issued = await make_store("woocommerce")
    shopper = {**SHOPPER, "birthday": "1990-05-17", "timezone": "Asia/Tokyo"}
    request = php_request("cart", issued.store.id, issued.webhook_secret, json.dumps(shopper))
    assert json.loads(request["body"])["customer"]["birthday"] == "1990-05-17"
    response = await _post(client, request)
    assert response.status_code == 200, response.text
    await run_jobs()
    contact = await Contact.get(email="ana.lima@example.com")
    assert contact.birthday == date(1990, 5, 17) and contact.timezone == "Asia/Tokyo"
    history = await ContactHistory.get(contact_id=contact.id)
    today = datetime.now(UTC).astimezone(ZoneInfo("Asia/Tokyo")).date()
    year = today.year if (today.month, today.day) <= (5, 17) else today.year + 1
    assert history.birthday_due_at == datetime(year, 5, 17, 0, 0, tzinfo=UTC)

    # A typo in the field is dropped by the plugin, and the app keeps the birthday it knows.
    typo = {**SHOPPER, "birthday": "1990-02-30"}
    request = php_request("cart", issued.store.id, issued.webhook_secret, json.dumps(typo))
    assert json.loads(request["body"])["customer"]["birthday"] == ""
    assert (await _post(client, request)).status_code == 200
    await run_jobs()
    assert (await Contact.get(id=contact.id)).birthday == date(1990, 5, 17)


@PHP
async def test_retry_with_same_delivery_id_is_stored_once(client):
    issued = await make_store("woocommerce")
    request = await _signed_cart(client, issued.store.id, issued.webhook_secret)
    again = await _post(client, request)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert await RawEvent.all().count() == 1


@PHP
async def test_tampered_wrong_secret_and_stale_requests_store_nothing(client):
    issued = await make_store("woocommerce")
    good = php_request("cart", issued.store.id, issued.webhook_secret, json.dumps(SHOPPER))
    path = urlsplit(good["url"]).path

    tampered = good["body"].replace('"total":"71.50"', '"total":"1.50"')
    assert tampered != good["body"]
    response = await client.post(path, content=tampered.encode(), headers=good["headers"])
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"

    foreign = php_request("cart", issued.store.id, "whsec_not_this_stores_secret", "{}")
    response = await _post(client, foreign)
    assert response.status_code == 401

    stale_ts = int(time.time()) - 301
    stale_headers = good["headers"] | {
        "X-FollowUp-Timestamp": str(stale_ts),
        # Correctly signed for the old timestamp: only the five-minute window refuses it.
        "X-FollowUp-Signature": b64_hmac(
            issued.webhook_secret, f"{stale_ts}.{good['body']}".encode()
        ),
    }
    response = await client.post(path, content=good["body"].encode(), headers=stale_headers)
    assert response.status_code == 401 and "five-minute" in response.json()["detail"]
    assert await RawEvent.all().count() == 0
    assert await Checkout.all().count() == 0


@PHP
async def test_connection_test_answers_with_store_name_and_stores_nothing(client):
    issued = await make_store("woocommerce", name="Tidewater Teas")
    response = await _post(client, php_request("test", issued.store.id, issued.webhook_secret))
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "store": "Tidewater Teas"}
    assert await RawEvent.all().count() == 0


@PHP
async def test_cash_on_delivery_order_completes_the_checkout_by_token(client, run_jobs):
    issued = await make_store("woocommerce")
    cart = await _signed_cart(client, issued.store.id, issued.webhook_secret)
    await run_jobs()
    order = {
        "token": cart["token"],
        "order": {
            "id": 4410,
            "number": "4410",
            "status": "pending",
            "payment_method": "cod",
            "total": "71.5",
            "cart_hash": "",
            "email": "ana.lima@example.com",
        },
    }
    response = await _post(
        client, php_request("order", issued.store.id, issued.webhook_secret, json.dumps(order))
    )
    assert response.status_code == 200, response.text
    await run_jobs()
    stored = await Order.get(external_id="4410")
    assert stored.placed and stored.total == Decimal("71.50")
    checkout = await Checkout.get(token=cart["token"])
    assert checkout.status == CheckoutStatus.COMPLETED and stored.checkout_id == checkout.id


@PHP
async def test_unpaid_online_order_does_not_stop_recovery(client, run_jobs):
    issued = await make_store("woocommerce")
    cart = await _signed_cart(client, issued.store.id, issued.webhook_secret)
    order = {"token": cart["token"], "order": {"id": 4411, "status": "pending", "total": "71.5"}}
    await _post(
        client, php_request("order", issued.store.id, issued.webhook_secret, json.dumps(order))
    )
    await run_jobs()
    assert not (await Order.get(external_id="4411")).placed
    assert (await Checkout.get(token=cart["token"])).status == CheckoutStatus.OPEN


@PHP
async def test_restore_lookup_returns_cart_then_refuses_once_ordered(client, run_jobs):
    issued = await make_store("woocommerce")
    store_id, secret = issued.store.id, issued.webhook_secret
    cart = await _signed_cart(client, store_id, secret)
    await run_jobs()
    lookup = php_request("restore", store_id, secret, cart["token"])
    response = await _post(client, lookup)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["cart"]["items"] == [
        {
            "product_id": "101",
            "variation_id": None,
            "quantity": 2,
            "name": "Sencha Kyoto Green Tea",
        },
        {"product_id": "205", "variation_id": "206", "quantity": 1, "name": "Cast Iron Teapot"},
    ]
    assert body["cart"]["coupons"] == ["WELCOME10"]
    assert body["customer"]["email"] == "ana.lima@example.com"
    assert body["customer"]["first_name"] == "Ana"

    unknown = php_request(
        "restore", store_id, secret, "AAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAA"
    )
    assert (await _post(client, unknown)).status_code == 404
    forged = php_request("restore", store_id, "whsec_wrong_secret_value", cart["token"])
    assert (await _post(client, forged)).status_code == 401

    order = {"token": cart["token"], "order": {"id": 77, "status": "processing", "total": "71.5"}}
    await _post(client, php_request("order", store_id, secret, json.dumps(order)))
    await run_jobs()
    used = await _post(client, php_request("restore", store_id, secret, cart["token"]))
    assert used.status_code == 410 and used.json()["error"] == "restore_used"


async def test_native_woocommerce_webhooks_still_work_without_the_plugin(client, run_jobs):
    issued = await make_store("woocommerce")
    await issued.store.__class__.filter(id=issued.store.id).update(
        webhook_secret="wc_test_secret_do_not_use"
    )
    body = payload_bytes("woocommerce_order_created.json")
    headers = json.loads(payload_bytes("woocommerce_webhook_headers_order_created.json"))
    response = await client.post(
        f"/webhooks/woocommerce/{issued.store.id}", content=body, headers=headers
    )
    assert response.status_code == 200 and response.json() == {"status": "accepted"}
    await run_jobs()
    pending = payload("woocommerce_order_created.json")
    checkout = await Checkout.get(token=f"wc-order-{pending['id']}")
    # `pending` is an order placed and awaiting payment (WooCommerce's own words): its
    # pay-for-order checkout is kept and settled by it; payment-pending flows follow it up.
    assert checkout.status == CheckoutStatus.COMPLETED and checkout.total == Decimal(
        pending["total"]
    )
    order = await Order.get(external_id=str(pending["id"]))
    assert order.placed and order.financial_status == "pending"

    paid = pending | {"status": "processing", "date_paid_gmt": pending.get("date_created_gmt")}
    paid_body = json.dumps(paid).encode()
    secret = "wc_test_secret_do_not_use"
    response = await client.post(
        f"/webhooks/woocommerce/{issued.store.id}",
        content=paid_body,
        headers=woo_headers(paid_body, secret, topic="order.updated"),
    )
    assert response.status_code == 200
    await run_jobs()
    assert (await Checkout.get(id=checkout.id)).status == CheckoutStatus.COMPLETED
    paid_order = await Order.get(external_id=str(pending["id"]))
    assert paid_order.placed and paid_order.financial_status == "processing"

    ping = await client.post(
        f"/webhooks/woocommerce/{issued.store.id}",
        content=b"webhook_id=14",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert ping.status_code == 200


async def test_same_signed_timestamp_and_body_under_a_new_delivery_id_is_a_replay(client):
    issued = await make_store("woocommerce")
    request = await _signed_cart(client, issued.store.id, issued.webhook_secret)
    for n in range(3):
        replay = {**request, "headers": request["headers"] | {"X-FollowUp-Delivery-Id": f"r-{n}"}}
        again = await _post(client, replay)
        assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    assert await RawEvent.all().count() == 1
    # The plugin's own next send (same cart, a new signature time) is a new delivery.
    later = int(request["headers"]["X-FollowUp-Timestamp"]) + 1
    fresh_headers = request["headers"] | {
        "X-FollowUp-Timestamp": str(later),
        "X-FollowUp-Signature": b64_hmac(
            issued.webhook_secret, f"{later}.{request['body']}".encode()
        ),
        "X-FollowUp-Delivery-Id": "next-send",
    }
    fresh = await _post(client, {**request, "headers": fresh_headers})
    assert fresh.json() == {"status": "accepted"}
    assert await RawEvent.all().count() == 2


@PHP
async def test_php_signed_exit_brings_the_abandonment_forward(client, run_jobs):
    issued = await make_store("woocommerce", abandon_after_seconds=3600)
    await Store.filter(id=issued.store.id).update(settings={"abandon_after_exit_seconds": 300})
    cart = await _signed_cart(client, issued.store.id, issued.webhook_secret)
    await run_jobs()
    before = await Checkout.get(token=cart["token"])
    assert before.exited_at is None and before.abandon_due_at is not None

    request = php_request("exit", issued.store.id, issued.webhook_secret, cart["token"])
    response = await _post(client, request)
    assert response.status_code == 200, response.text
    await run_jobs()
    after = await Checkout.get(token=cart["token"])
    assert after.exited_at is not None and after.status == CheckoutStatus.OPEN
    assert after.abandon_due_at == after.exited_at + timedelta(seconds=300)
    assert after.abandon_due_at < before.abandon_due_at

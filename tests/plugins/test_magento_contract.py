"""Cross-language contract: events signed by the Magento module's PHP are verified and ingested by
the app, and restore links the app builds open the cart in the module's PHP.

What is not signed right (tampered body, wrong secret, stale timestamp) is refused with 401 and a
reason, and nothing is stored.
"""

from __future__ import annotations

import json
import subprocess
import time
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from app.checkouts import services as checkouts
from app.checkouts.models import Checkout, CheckoutStatus, Contact, Order
from app.ingest.models import OrderSeen, RawEvent, RawStatus, Source
from app.recovery import links
from app.recovery import services as recovery
from app.recovery.models import Enrollment
from app.recovery.services import share_link
from app.stores.models import Store
from tests.factories import b64_hmac, make_store
from tests.vendor_tools import program

PHP = pytest.mark.needs_tool("php")  # the requests are signed by the module's own PHP
RUN = Path(__file__).resolve().parents[2] / "plugins" / "magento2" / "Test" / "contract" / "run.php"
DOMAIN = "shop.example.com"  # the shim store's base URL is https://shop.example.com/


def php(mode: str, store_id: int, secret: str, arg: str = "") -> dict[str, Any]:
    """Run the module's classes against the shim (see Test/contract/run.php)."""
    result = subprocess.run(
        [program("php"), str(RUN), mode, "https://app.example.com", str(store_id), secret, arg],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


async def _post(client: Any, request: dict[str, Any], body: str | None = None) -> Any:
    path = urlsplit(request["url"]).path
    content = (request["body"] if body is None else body).encode()
    return await client.post(path, content=content, headers=request["headers"])


async def _magento() -> tuple[Store, str]:
    issued = await make_store("magento", domain=DOMAIN, name="Kyoto Tea House")
    assert issued.webhook_secret
    return issued.store, issued.webhook_secret


async def _cart(client: Any, store: Store, secret: str, **contact: str) -> dict[str, Any]:
    request = php("cart", store.id, secret, json.dumps(contact))
    assert request["url"] == f"https://app.example.com/webhooks/magento/{store.id}"
    response = await _post(client, request)
    assert response.status_code == 200, response.text
    assert response.json() == {"status": "accepted"}
    return request


@PHP
async def test_php_signed_cart_becomes_a_checkout(client, run_jobs):
    store, secret = await _magento()
    request = await _cart(client, store, secret)
    await run_jobs()

    raw = await RawEvent.get()
    assert (raw.source, raw.topic, raw.status) == (
        Source.MAGENTO,
        "cart.updated",
        RawStatus.PROCESSED,
    )
    checkout = await Checkout.get(token=request["token"])
    assert checkout.store_id == store.id and checkout.external_id == "501"  # type: ignore[attr-defined]
    assert checkout.status == CheckoutStatus.OPEN
    assert checkout.email == "ana.lima@example.com" and checkout.phone == "+14155550100"
    assert [
        (i["title"], i["sku"], i["quantity"], i["unit_price"]) for i in checkout.line_items
    ] == [
        ("Sencha Kyoto Green Tea", "TEA-SENCHA-100", 2, "14.50"),
        ("Cast Iron Teapot", "POT-IRON-08-BLK", 1, "39.00"),
    ]
    assert checkout.line_items[1]["variant_id"] == "206"
    assert checkout.line_items[1]["product_url"] == f"https://{DOMAIN}/cast-iron-teapot.html"
    assert (checkout.subtotal, checkout.total_discounts, checkout.total) == (
        Decimal("68.00"),
        Decimal("6.80"),
        Decimal("71.50"),
    )
    assert (checkout.total_shipping, checkout.total_tax) == (Decimal("5.00"), Decimal("5.30"))
    assert checkout.discount_codes == ["WELCOME10"] and checkout.currency == "USD"
    assert checkout.recovery_url == (
        f"https://{DOMAIN}/followup/cart/restore?token={request['token']}"
    )
    assert checkout.device == "mobile" and checkout.locale == "en_US"
    contact = await Contact.get(email="ana.lima@example.com")
    assert (contact.first_name, contact.last_name, contact.country) == ("Ana", "Lima", "US")


@PHP
async def test_resent_delivery_and_replayed_signature_are_stored_once(client):
    store, secret = await _magento()
    request = await _cart(client, store, secret)
    again = await _post(client, request)
    assert again.status_code == 200 and again.json() == {"status": "duplicate"}
    replay = {**request, "headers": request["headers"] | {"X-FollowUp-Delivery-Id": "other"}}
    assert (await _post(client, replay)).json() == {"status": "duplicate"}
    assert await RawEvent.all().count() == 1


@PHP
async def test_tampered_foreign_and_stale_events_are_refused_with_nothing_stored(client):
    store, secret = await _magento()
    good = php("cart", store.id, secret)

    tampered = good["body"].replace('"total":"71.50"', '"total":"1.50"')
    assert tampered != good["body"]
    response = await _post(client, good, tampered)
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert response.json()["detail"] == "signature does not match"

    foreign = php("cart", store.id, "whsec_not_this_stores_secret")
    assert (await _post(client, foreign)).status_code == 401

    stale_ts = int(time.time()) - 301
    stale = {
        **good,
        "headers": good["headers"]
        | {
            "X-FollowUp-Timestamp": str(stale_ts),
            # Correctly signed for the old time: only the five-minute window refuses it.
            "X-FollowUp-Signature": b64_hmac(secret, f"{stale_ts}.{good['body']}".encode()),
        },
    }
    response = await _post(client, stale)
    assert response.status_code == 401 and "five-minute" in response.json()["detail"]

    unsigned = {**good, "headers": {"Content-Type": "application/json"}}
    response = await _post(client, unsigned)
    assert response.status_code == 401 and "Timestamp" in response.json()["detail"]
    assert await RawEvent.all().count() == 0 and await Checkout.all().count() == 0


@PHP
async def test_wrong_store_unknown_event_and_bad_json_are_clear_4xx(client):
    store, secret = await _magento()
    woo = await make_store("woocommerce")
    assert woo.webhook_secret
    request = php("cart", woo.store.id, woo.webhook_secret)
    response = await _post(client, request)  # a WooCommerce store is not a Magento store
    assert response.status_code == 404 and response.json()["error"] == "unknown_store"

    now = str(int(time.time()))
    for event, body, error in (
        ("coupon.create", b"{}", "unknown_event"),
        ("cart.updated", b"[1, 2]", "malformed_json"),
        ("cart.updated", b"{not json", "malformed_json"),
    ):
        headers = {
            "Content-Type": "application/json",
            "X-FollowUp-Event": event,
            "X-FollowUp-Timestamp": now,
            "X-FollowUp-Signature": b64_hmac(secret, now.encode() + b"." + body),
        }
        response = await client.post(f"/webhooks/magento/{store.id}", content=body, headers=headers)
        assert response.status_code == 400 and response.json()["error"] == error, response.text
    assert await RawEvent.all().count() == 0


@PHP
async def test_placed_order_completes_the_checkout_and_a_pending_payment_one_does_not(
    client, run_jobs
):
    store, secret = await _magento()
    cart = await _cart(client, store, secret)
    await run_jobs()

    pending = php(
        "order", store.id, secret, json.dumps({"entity_id": 9002, "state": "pending_payment"})
    )
    assert (await _post(client, pending)).status_code == 200
    await run_jobs()
    assert not (await Order.get(external_id="9002")).placed
    assert (await Checkout.get(token=cart["token"])).status == CheckoutStatus.OPEN
    assert await OrderSeen.all().count() == 0

    placed = php("order", store.id, secret, json.dumps({"entity_id": 9001, "state": "new"}))
    assert placed["headers"]["X-FollowUp-Delivery-Id"] == "mage-order-9001-placed"
    assert (await _post(client, placed)).json() == {"status": "accepted"}
    seen = await OrderSeen.get()  # acknowledged at capture, before the worker ran
    assert seen.checkout_token == cart["token"]
    await run_jobs()
    order = await Order.get(external_id="9001")
    assert order.placed and order.total == Decimal("71.50") and order.currency == "USD"
    checkout = await Checkout.get(token=cart["token"])
    assert checkout.status == CheckoutStatus.COMPLETED and order.checkout_id == checkout.id  # type: ignore[attr-defined]


@PHP
async def test_magic_link_lands_on_the_stores_restore_route_and_php_restores_the_quote(
    client, run_jobs
):
    store, secret = await _magento()
    cart = await _cart(client, store, secret)
    await run_jobs()
    checkout = await Checkout.get(token=cart["token"])
    assert await checkouts.mark_abandoned(checkout.id, checkout.abandon_due_at)
    enrollment = await recovery.enroll(checkout.id)
    assert enrollment is not None

    response = await client.get(f"/r/{links.magic_token(enrollment.id, 0)}", follow_redirects=False)
    assert response.status_code == 302
    location = response.headers["location"]
    target = urlsplit(location)
    query = parse_qs(target.query)
    assert (target.scheme, target.netloc, target.path) == (
        "https",
        DOMAIN,
        "/followup/cart/restore",
    )
    assert query["token"] == [cart["token"]] and query["utm_source"] == ["followup"]
    assert 0 < int(query["expires"][0]) - time.time() <= 86_400

    opened = php("restore", store.id, secret, location)
    assert opened["redirect"] == "checkout" and opened["quote_id"] == 501
    assert opened["messages"] == []

    # The module refuses the same link once the quote became an order.
    used = php("restore", store.id, secret, "ordered:" + location)
    assert used["redirect"] == "checkout/cart" and used["quote_id"] is None
    assert "already used" in used["messages"][0][1]


@PHP
async def test_restore_link_with_a_code_round_trips_and_edits_are_refused(client, run_jobs):
    store, secret = await _magento()
    cart = await _cart(client, store, secret)
    await run_jobs()
    checkout = await Checkout.get(token=cart["token"])

    utm = {"utm_source": "followup", "utm_medium": "email"}
    landing = links.landing_url(
        str(store.platform), store.domain, checkout.recovery_url, "SAVE10", utm
    )
    url = links.store_landing(store, landing)
    assert url is not None and parse_qs(urlsplit(url).query)["discount"] == ["SAVE10"]
    opened = php("restore", store.id, secret, url)
    assert (opened["redirect"], opened["quote_id"], opened["coupon"]) == ("checkout", 501, "SAVE10")

    for edited in (
        url.replace("discount=SAVE10", "discount=SAVE90"),
        url.replace("token=q501.", "token=q502."),
        url.split("&signature=")[0],
        checkout.recovery_url,  # the unsigned address the module sent is not a link by itself
    ):
        refused = php("restore", store.id, secret, edited)
        assert refused["redirect"] == "checkout/cart" and refused["quote_id"] is None, edited
        assert "not valid" in refused["messages"][0][1]
    other = php("restore", store.id, "whsec_another_store", url)
    assert other["quote_id"] is None


@PHP
async def test_an_agents_link_for_an_unenrolled_magento_cart_is_signed_too(client, run_jobs):
    store, secret = await _magento()
    cart = await _cart(client, store, secret)
    await run_jobs()
    shared = await share_link(await Checkout.get(token=cart["token"]))
    assert shared is not None and "signature=" in shared
    assert php("restore", store.id, secret, shared)["quote_id"] == 501


async def test_restore_links_only_lead_to_the_stores_own_site(client, run_jobs):
    """A recovery URL off the store's sites is dropped at capture: the link lands on the home page."""
    store, secret = await _magento()
    body = json.dumps(
        {
            "type": "cart.updated",
            "occurred_at": "2026-12-02T10:00:00Z",
            "customer": {"email": "ana@example.com"},
            "cart": {
                "restore_token": "q9.AAAAAAAAAAAAAAAAAAAAAA",
                "recovery_url": "https://evil.example/followup/cart/restore?token=q9.x",
                "items": [{"name": "Tea", "quantity": 1, "price": "3.00"}],
                "total": "3.00",
            },
        }
    ).encode()
    now = str(int(time.time()))
    headers = {
        "X-FollowUp-Event": "cart.updated",
        "X-FollowUp-Timestamp": now,
        "X-FollowUp-Signature": b64_hmac(secret, now.encode() + b"." + body),
    }
    response = await client.post(f"/webhooks/magento/{store.id}", content=body, headers=headers)
    assert response.status_code == 200
    await run_jobs()
    checkout = await Checkout.get(token="q9.AAAAAAAAAAAAAAAAAAAAAA")
    assert checkout.recovery_url is None and checkout.status == CheckoutStatus.ABANDONED
    enrollment = await Enrollment.get(checkout_id=checkout.id)
    response = await client.get(f"/r/{links.magic_token(enrollment.id, 0)}", follow_redirects=False)
    target = urlsplit(response.headers["location"])
    assert (target.netloc, target.path) == (DOMAIN, "/checkout/cart")  # Magento's cart page
    assert "signature" not in target.query  # nothing to sign: not the restore route

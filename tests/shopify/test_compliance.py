"""Uninstall and the privacy webhooks, end to end: signed delivery in, worker run, database checked."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from app.checkouts.models import Checkout, Contact, Order
from app.core.outbox import OutboxEvent
from app.ingest.models import RawEvent
from app.messaging.models import Message
from app.privacy.models import DataExport
from app.stores.models import Store, StoreStatus
from tests.factories import jbytes, make_store, payload, payload_bytes, shopify_headers
from tests.shopify.conftest import SHOP, rows_mentioning

COMPLIANCE = "/webhooks/shopify/compliance"
PERSONAL = ("maya.okafor@example.com", "4155550173", "Okafor", "Larkin", "Hi Maya")


def _now() -> str:
    return datetime.now(UTC).isoformat()


async def _deliver(client, topic, body, path="/webhooks/shopify"):
    response = await client.post(
        path, content=body, headers=shopify_headers(body, topic, triggered_at=_now())
    )
    assert response.status_code == 200, response.text
    return response.json()


async def _shopper_history(client, run_jobs, store):
    """A checkout, its order and an SMS for Maya, plus another shopper who must be untouched."""
    await _deliver(client, "checkouts/create", payload_bytes("shopify_checkouts_create.json"))
    other = payload("shopify_checkouts_create.json")
    other |= {"token": "other-token", "email": "ben@example.com", "phone": None}
    other |= {"sms_marketing_phone": None, "cart_token": "other-cart"}
    other["customer"] = {"id": 1, "email": "ben@example.com", "first_name": "Ben"}
    other["shipping_address"] = other["billing_address"] = None
    await _deliver(client, "checkouts/create", jbytes(other))
    await _deliver(client, "orders/create", payload_bytes("shopify_orders_create.json"))
    await run_jobs()
    contact = await Contact.get(email="maya.okafor@example.com")
    await Message.create(
        store=store,
        contact=contact,
        channel="sms",
        direction="outbound",
        author="automation",
        to_address="+14155550173",
        from_address="+18885550100",
        status="delivered",
        body="Hi Maya, your Linen Throw Pillow is waiting",
        idempotency_key="m1",
    )


async def test_uninstall_marks_store_drops_tokens_cancels_sends_and_announces(
    client, installed, run_jobs
):
    contact = await Contact.create(store=installed, email="a@example.com")
    await Message.create(
        store=installed,
        contact=contact,
        channel="email",
        direction="outbound",
        author="automation",
        to_address="a@example.com",
        body="x",
        status="pending",
    )
    body = payload_bytes("shopify_app_uninstalled.json")
    assert (await _deliver(client, "app/uninstalled", body))["status"] == "accepted"
    await run_jobs()
    store = await Store.get(id=installed.id)
    assert store.status == StoreStatus.UNINSTALLED and store.uninstalled_at is not None
    assert store.credentials is None
    assert (await Message.get()).status == "cancelled"
    event = await OutboxEvent.get(name="store.uninstalled")
    assert event.store_id == store.id and event.dispatched_at is not None

    # The same signed body under a new delivery id is a replay: refused at the door.
    assert (await _deliver(client, "app/uninstalled", body))["status"] == "duplicate"
    await run_jobs()
    assert await OutboxEvent.filter(name="store.uninstalled").count() == 1
    assert await RawEvent.all().count() == 1


async def test_stale_uninstall_from_before_a_reinstall_is_ignored(client, installed, run_jobs):
    body = payload_bytes("shopify_app_uninstalled.json")
    headers = shopify_headers(body, "app/uninstalled", triggered_at="2026-01-01T00:00:00Z")
    await client.post("/webhooks/shopify", content=body, headers=headers)
    await run_jobs()
    assert (await Store.get(id=installed.id)).status == StoreStatus.ACTIVE


async def test_customer_redact_erases_personal_data_everywhere_and_keeps_aggregates(
    client, run_jobs
):
    issued = await make_store("shopify", domain=SHOP)
    await _shopper_history(client, run_jobs, issued.store)
    await _deliver(
        client,
        "customers/data_request",
        payload_bytes("shopify_customers_data_request.json"),
        COMPLIANCE,
    )
    await run_jobs()
    assert await DataExport.all().count() == 1
    assert await rows_mentioning(*PERSONAL)  # the search finds them before erasure

    await _deliver(
        client, "customers/redact", payload_bytes("shopify_customers_redact.json"), COMPLIANCE
    )
    await run_jobs()

    assert await rows_mentioning(*PERSONAL) == []
    checkout = await Checkout.get(token="e3b0f1c2a9d84c7b8f6e5d4c3b2a1908")
    assert checkout.total == Decimal("118.00") and checkout.status == "completed"
    assert (await Order.get()).total == Decimal("106.20")
    message = await Message.get()
    assert message.status == "delivered" and message.channel == "sms"
    other = await Checkout.get(token="other-token")
    assert other.email == "ben@example.com"
    assert await Contact.filter(email="ben@example.com").exists()
    assert await DataExport.all().count() == 0


async def test_customer_redact_with_a_national_phone_erases_rows_stored_in_e164(client, run_jobs):
    """Shopify may send the number as the shopper typed it; our rows hold +14155550173."""
    issued = await make_store("shopify", domain=SHOP)
    await _shopper_history(client, run_jobs, issued.store)
    assert await Contact.filter(phone="+14155550173").exists()
    redact = payload("shopify_customers_redact.json")
    redact["customer"] = {"id": 1234, "email": None, "phone": "(415) 555-0173"}
    redact["orders_to_redact"] = []
    await _deliver(client, "customers/redact", jbytes(redact), COMPLIANCE)
    await run_jobs()

    assert await rows_mentioning(*PERSONAL, "(415) 555-0173") == []
    assert not await Contact.filter(phone="+14155550173").exists()
    assert (await Message.get()).to_address == "[redacted]"
    other = await Checkout.get(token="other-token")
    assert other.email == "ben@example.com"
    assert await Contact.filter(email="ben@example.com").exists()


async def test_data_request_builds_an_export_the_merchant_can_fetch(client, run_jobs, shopify):
    issued = await make_store("shopify", domain=SHOP)
    await _shopper_history(client, run_jobs, issued.store)
    await _deliver(
        client,
        "customers/data_request",
        payload_bytes("shopify_customers_data_request.json"),
        COMPLIANCE,
    )
    await run_jobs()

    auth = {"Authorization": f"Bearer {issued.api_token}"}
    listing = (await client.get("/api/v1/privacy/exports", headers=auth)).json()
    assert [e["request_id"] for e in listing] == ["1183"]
    doc = (await client.get(f"/api/v1/privacy/exports/{listing[0]['id']}", headers=auth)).json()
    assert doc["contacts"][0]["email"] == "maya.okafor@example.com"
    assert doc["contacts"][0]["first_name"] == "Maya"
    assert [c["token"] for c in doc["checkouts"]] == ["e3b0f1c2a9d84c7b8f6e5d4c3b2a1908"]
    assert doc["orders"][0]["external_id"] == "6112345678901"
    assert doc["messages"][0]["body"].startswith("Hi Maya")
    assert {e["channel"] for e in doc["consent_events"]} >= {"sms"}
    assert "ben@example.com" not in json.dumps(doc)

    rows = await DataExport.all().values_list("document", flat=True)
    # Stored as ciphertext: base64 has no quote, brace, dot or @, which any JSON of the shopper
    # has. (A lower-cased search for "maya" found it by chance in a ciphertext once.)
    raw = await _raw_document_column()
    assert raw and not set(raw) & set('"{}.@')
    assert "maya.okafor@example.com" not in raw
    assert rows  # decrypted through the model

    assert (await client.get("/api/v1/privacy/exports")).status_code == 401
    embedded = {"Authorization": f"Bearer {shopify.session_token(SHOP)}"}
    assert len((await client.get("/shopify/api/privacy/exports", headers=embedded)).json()) == 1
    expired = {"Authorization": f"Bearer {shopify.session_token(SHOP, exp_in=-120)}"}
    refused = await client.get("/shopify/api/privacy/exports", headers=expired)
    assert refused.status_code == 401 and "expired" in refused.json()["detail"].lower()
    forged = {"Authorization": f"Bearer {shopify.session_token(SHOP, secret='not-the-secret')}"}
    assert (await client.get("/shopify/api/privacy/exports", headers=forged)).status_code == 401


async def _raw_document_column() -> str:
    from tortoise import connections

    rows = await connections.get("default").execute_query_dict(
        "SELECT document FROM privacy_data_export"
    )
    return " ".join(r["document"] for r in rows)


async def test_shop_redact_deletes_all_store_data(client, installed, run_jobs):
    await _shopper_history(client, run_jobs, installed)
    await _deliver(client, "app/uninstalled", payload_bytes("shopify_app_uninstalled.json"))
    await run_jobs()
    await _deliver(client, "shop/redact", payload_bytes("shopify_shop_redact.json"), COMPLIANCE)
    await run_jobs()
    assert await Store.all().count() == 0
    assert await rows_mentioning(SHOP, *PERSONAL) == []
    assert await OutboxEvent.all().count() == 0


async def test_shop_redact_for_a_store_that_came_back_keeps_its_data(client, installed, run_jobs):
    await _deliver(client, "shop/redact", payload_bytes("shopify_shop_redact.json"), COMPLIANCE)
    await run_jobs()
    assert await Store.filter(id=installed.id).exists()


@pytest.mark.parametrize(
    "topic,name",
    [
        ("customers/data_request", "shopify_customers_data_request.json"),
        ("customers/redact", "shopify_customers_redact.json"),
        ("shop/redact", "shopify_shop_redact.json"),
    ],
)
async def test_compliance_endpoints_answer_401_on_a_bad_hmac(client, topic, name):
    await make_store("shopify", domain=SHOP)
    body = payload_bytes(name)
    headers = shopify_headers(body, topic, secret="wrong-secret")
    response = await client.post(COMPLIANCE, content=body, headers=headers)
    assert response.status_code == 401
    assert await RawEvent.all().count() == 0

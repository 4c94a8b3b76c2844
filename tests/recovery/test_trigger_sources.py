"""The trigger sources issue 15 names beyond the first ones, end to end: Shopify customer
webhooks granting (and withdrawing) marketing consent, WooCommerce orders waiting in `pending`,
and a collect `Order Completed` whose payment is still pending. Each goes through the signed
webhook or the collect endpoint, the burst worker, and the fake SMTP server."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from app.checkouts.models import ConsentEvent, Contact, ContactHistory
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery import entries
from app.recovery.models import Enrollment, EnrollmentStatus
from app.recovery.sending import Deps, run_step
from tests.factories import jbytes, make_store, payload, shopify_headers, woo_headers
from tests.recovery.test_triggers_end_to_end import PENDING_STEP, email_step, live, make_flow
from tests.shopify.test_shopify_api_library import library_webhook_hmac

WOO_SECRET = "wc_test_secret_do_not_use"


def stamp(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def shopify_customer(email_state: str, sms_state: str | None = None, **changes: Any) -> bytes:
    """A `customers/create|update` body as Shopify sends it (API 2026-01): marketing consent
    is `email_marketing_consent` / `sms_marketing_consent` with a `state`."""
    now = stamp(utcnow())
    doc: dict[str, Any] = {
        "id": 706405506930370084,
        "email": "ines.ward@example.com",
        "created_at": now,
        "updated_at": now,
        "first_name": "Ines",
        "last_name": "Ward",
        "state": "disabled",
        "note": None,
        "verified_email": True,
        "tax_exempt": False,
        "phone": "+16135550135",
        "currency": "USD",
        "tags": "newsletter",
        "addresses": [],
        "default_address": {"country_code": "CA", "province_code": "ON"},
        "email_marketing_consent": {
            "state": email_state,
            "opt_in_level": "single_opt_in",
            "consent_updated_at": now,
        },
        "sms_marketing_consent": None
        if sms_state is None
        else {
            "state": sms_state,
            "opt_in_level": "single_opt_in",
            "consent_updated_at": now,
            "consent_collected_from": "SHOPIFY",
        },
        "admin_graphql_api_id": "gid://shopify/Customer/706405506930370084",
        **changes,
    }
    return json.dumps(doc).encode()


async def shopify_post(client, body: bytes, topic: str, webhook_id: str | None = None) -> str:
    response = await client.post(
        "/webhooks/shopify",
        content=body,
        headers=shopify_headers(body, topic, webhook_id=webhook_id),
    )
    assert response.status_code == 200, response.text
    return str(response.json()["status"])


WELCOME = email_step("Welcome to {{ store_name }}", "Hi {{ first_name }}, glad you're here.")


async def test_shopify_customer_consent_welcomes_once_and_a_withdrawal_updates_the_contact(
    client, run_jobs, deps, smtp
):
    issued = await make_store("shopify", name="Velvet Fern")
    await make_flow(client, issued.api_token, "contact.subscribed", [WELCOME])
    # Created without consent: nobody to welcome yet.
    assert await shopify_post(client, shopify_customer("not_subscribed"), "customers/create") == (
        "accepted"
    )
    await run_jobs(ctx={"recovery": live(deps)})
    assert smtp.messages == []
    contact = await Contact.get(email="ines.ward@example.com")
    assert contact.first_name == "Ines" and not contact.email_consent

    # The customer subscribes in the store: customers/update with the consent granted.
    granted = shopify_customer("subscribed")
    assert await shopify_post(client, granted, "customers/update", "w-1") == "accepted"
    assert await shopify_post(client, granted, "customers/update", "w-1") == "duplicate"
    await run_jobs(ctx={"recovery": live(deps)})
    [mail] = smtp.messages
    assert mail["To"] == "ines.ward@example.com" and mail["Subject"] == "Welcome to Velvet Fern"
    contact = await Contact.get(email="ines.ward@example.com")
    assert contact.email_consent and contact.email_consent_source == "shopify_customer"
    assert (await ContactHistory.get(contact_id=contact.id)).subscribed

    # Another update still subscribed (a name change): no second welcome.
    await shopify_post(
        client, shopify_customer("subscribed", first_name="Inès"), "customers/update"
    )
    await run_jobs(ctx={"recovery": live(deps)})
    assert len(smtp.messages) == 1

    # Consent withdrawn in Shopify: marketing consent goes, the address stays reachable for
    # transactional mail (no unsubscribe of everything).
    await shopify_post(client, shopify_customer("unsubscribed"), "customers/update")
    await run_jobs(ctx={"recovery": live(deps)})
    contact = await Contact.get(email="ines.ward@example.com")
    assert contact.email_consent is False and contact.email_opted_out_at is None
    assert not (await ContactHistory.get(contact_id=contact.id)).subscribed
    actions = await ConsentEvent.filter(contact_id=contact.id, channel="email").order_by("id")
    assert [(e.action, e.source) for e in actions] == [
        ("opt_in", "shopify_customer"),
        ("opt_out", "shopify_customer"),
    ]
    assert await Enrollment.filter(trigger="contact.subscribed").count() == 1


async def test_shopify_customer_created_with_sms_consent_enters_the_welcome_flow(
    client, run_jobs, deps, smtp
):
    issued = await make_store("shopify", name="Velvet Fern")
    await make_flow(client, issued.api_token, "contact.subscribed", [WELCOME])
    body = shopify_customer("not_subscribed", sms_state="subscribed")
    await shopify_post(client, body, "customers/create")
    await run_jobs(ctx={"recovery": live(deps)})
    contact = await Contact.get(phone="+16135550135")
    assert contact.sms_consent and contact.sms_consent_source == "shopify_customer"
    [enrollment] = await Enrollment.filter(trigger="contact.subscribed")
    assert enrollment.contact_id == contact.id
    # The welcome step is an email: consent to texts is consent to marketing, the store's
    # policy decides whether mail needs its own (the default does not).
    [mail] = smtp.messages
    assert mail["To"] == "ines.ward@example.com"


# Zones from UTC-11 to UTC+14: at any moment one of them is between 10:00 and 20:00.
ZONES = (
    "Pacific/Pago_Pago",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/Chicago",
    "America/Sao_Paulo",
    "Atlantic/Cape_Verde",
    "UTC",
    "Europe/Berlin",
    "Europe/Moscow",
    "Asia/Dubai",
    "Asia/Karachi",
    "Asia/Dhaka",
    "Asia/Bangkok",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Brisbane",
    "Pacific/Noumea",
    "Pacific/Tarawa",
    "Pacific/Tongatapu",
    "Pacific/Kiritimati",
)


def zone_past_nine(now: datetime) -> str:
    """A zone where it is the shopper's birthday's day and its 09:00 greeting is due already."""
    return next(z for z in ZONES if 10 <= now.astimezone(ZoneInfo(z)).hour < 20)


def birthday_metafield(day: str, namespace: str = "facts", key: str = "birth_date") -> dict:
    """A customer metafield as a webhook whose subscription names its namespace carries it."""
    return {
        "id": 9001,
        "namespace": namespace,
        "key": key,
        "value": day,
        "type": "date",
        "owner_id": 706405506930370084,
        "owner_resource": "customer",
        "admin_graphql_api_id": "gid://shopify/Metafield/9001",
    }


async def test_shopify_birth_date_metafield_greets_once_on_the_day_in_the_shop_zone(
    client, run_jobs, deps, smtp, tmp_path: Path
):
    """customers/update signed by @shopify/shopify-api, carrying the standard "Birth date"
    metafield: the contact's birthday, its next 09:00 in the shop's zone, and on the day the
    worker's pass and a burst send one greeting, never a second."""
    now = utcnow()
    zone = zone_past_nine(now)
    issued = await make_store("shopify", name="Velvet Fern", timezone=zone)
    step = email_step("Happy birthday, {{ first_name }}!", "A treat from {{ store_name }}.")
    await make_flow(client, issued.api_token, "contact.birthday", [step])
    today = now.astimezone(ZoneInfo(zone)).date()
    metafields = [
        birthday_metafield("not a date", "custom", "birthday"),  # ignored, not an error
        birthday_metafield(f"1988-{today:%m-%d}"),  # 1988: a leap year, any day exists
    ]
    body = shopify_customer("subscribed", metafields=metafields)
    headers = shopify_headers(body, "customers/update")
    headers["X-Shopify-Hmac-Sha256"] = library_webhook_hmac(body, tmp_path)
    response = await client.post("/webhooks/shopify", content=body, headers=headers)
    assert response.status_code == 200 and response.json()["status"] == "accepted"
    await run_jobs(ctx={"recovery": live(deps)})

    contact = await Contact.get(email="ines.ward@example.com")
    assert contact.birthday == date(1988, today.month, today.day)
    history = await ContactHistory.get(contact_id=contact.id)
    nine = datetime.combine(today, time(9), tzinfo=ZoneInfo(zone)).astimezone(UTC)
    assert history.birthday == contact.birthday and history.birthday_due_at == nine

    assert (await entries.enroll_due(utcnow(), deps.queue))["entered"] == 1
    await run_jobs(ctx={"recovery": live(deps)})
    assert (await entries.enroll_due(utcnow(), deps.queue))["entered"] == 0
    await run_jobs(ctx={"recovery": live(deps)})
    [mail] = smtp.messages
    assert mail["To"] == "ines.ward@example.com" and mail["Subject"] == "Happy birthday, Ines!"
    [enrollment] = await Enrollment.filter(trigger="contact.birthday")
    assert enrollment.entry_key == f"birthday:{nine.date().isoformat()}"


async def woo_store():
    issued = await make_store("woocommerce", name="Harbor Goods")
    issued.store.webhook_secret = WOO_SECRET
    await issued.store.save()
    return issued


def woo_order(status: str, placed: datetime, order_id: int = 5127) -> dict[str, Any]:
    doc = payload("woocommerce_order_created.json")
    at = placed.isoformat().replace("+00:00", "")
    return {
        **doc,
        "id": order_id,
        "status": status,
        "date_created_gmt": at,
        "date_modified_gmt": at,
    }


async def woo_post(client, store_id: int, doc: dict[str, Any], topic: str, delivery: str) -> None:
    body = jbytes(doc)
    response = await client.post(
        f"/webhooks/woocommerce/{store_id}",
        content=body,
        headers=woo_headers(body, WOO_SECRET, topic=topic, delivery_id=delivery),
    )
    assert response.status_code == 200 and response.json()["status"] == "accepted", response.text


async def test_woocommerce_pending_order_gets_its_payment_reminder(client, run_jobs, deps, smtp):
    issued = await woo_store()
    await make_flow(client, issued.api_token, "order.payment_pending", [PENDING_STEP])
    await woo_post(client, issued.store.id, woo_order("pending", utcnow()), "order.created", "d-1")
    await run_jobs(ctx={"recovery": live(deps)})
    [mail] = smtp.messages
    assert mail["To"] == "luis.serrano@example.net"
    assert mail["Subject"] == "Order 5127 is waiting for payment"
    text = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "$41.68" in text
    [enrollment] = await Enrollment.filter(trigger="order.payment_pending")
    assert enrollment.status == EnrollmentStatus.COMPLETED and enrollment.order_id is not None


async def _pending_then(client, run_jobs, deps, smtp, status: str) -> Enrollment:
    issued = await woo_store()
    step = {**PENDING_STEP, "delay_seconds": 3600}
    await make_flow(client, issued.api_token, "order.payment_pending", [step])
    placed = utcnow()
    await woo_post(client, issued.store.id, woo_order("pending", placed), "order.created", "d-1")
    await run_jobs(ctx={"recovery": live(deps)})
    [enrollment] = await Enrollment.filter(trigger="order.payment_pending")
    assert enrollment.status == EnrollmentStatus.ACTIVE
    await woo_post(client, issued.store.id, woo_order(status, placed), "order.updated", "d-2")
    await run_jobs(ctx={"recovery": live(deps)})
    await enrollment.refresh_from_db()
    later = Deps(**{**deps.__dict__, "clock": lambda: placed + timedelta(hours=2)})
    assert await run_step(later, enrollment.id, 0) == "stale"
    assert smtp.messages == [] and not await Message.exists(enrollment_id=enrollment.id)
    return enrollment


async def test_woocommerce_pending_order_paid_before_its_step_gets_nothing(
    client, run_jobs, deps, smtp
):
    enrollment = await _pending_then(client, run_jobs, deps, smtp, "processing")
    assert (enrollment.status, enrollment.stop_reason) == (EnrollmentStatus.STOPPED, "order_paid")


async def test_woocommerce_pending_order_that_fails_stops_its_reminder(
    client, run_jobs, deps, smtp
):
    enrollment = await _pending_then(client, run_jobs, deps, smtp, "failed")
    assert enrollment.status == EnrollmentStatus.STOPPED
    assert enrollment.stop_reason == "order_cancelled"


async def test_woocommerce_on_hold_still_fires_and_cancelled_stops(client, run_jobs, deps, smtp):
    issued = await woo_store()
    step = {**PENDING_STEP, "delay_seconds": 3600}
    await make_flow(client, issued.api_token, "order.payment_pending", [step])
    placed = utcnow()
    await woo_post(client, issued.store.id, woo_order("on-hold", placed), "order.created", "d-1")
    await run_jobs(ctx={"recovery": live(deps)})
    [enrollment] = await Enrollment.filter(trigger="order.payment_pending")
    await woo_post(client, issued.store.id, woo_order("cancelled", placed), "order.updated", "d-2")
    await run_jobs(ctx={"recovery": live(deps)})
    await enrollment.refresh_from_db()
    assert enrollment.stop_reason == "order_cancelled" and smtp.messages == []


def collect_order(event: str, order_id: str, status: str | None, **props: Any) -> dict[str, Any]:
    properties: dict[str, Any] = {"order_id": order_id, "total": "58.00", "currency": "USD"}
    if status is not None:
        properties["status"] = status
    return {
        "type": "track",
        "event": event,
        "messageId": f"{event}-{order_id}-{status}",
        "timestamp": stamp(utcnow()),
        "context": {"traits": {"email": "noor.haddad@example.com", "firstName": "Noor"}},
        "properties": {**properties, **props},
    }


async def collect_post(client, key: str, event: dict[str, Any]) -> None:
    response = await client.post(f"/collect/v1/events?key={key}", json=event)
    assert response.status_code == 202 and response.json()["accepted"] == 1, response.text


async def test_collect_order_completed_with_a_pending_status_gets_a_reminder(
    client, run_jobs, deps, smtp
):
    issued = await make_store("custom", name="Shop")
    await make_flow(client, issued.api_token, "order.payment_pending", [PENDING_STEP])
    key = issued.store.publishable_key
    await collect_post(client, key, collect_order("Order Completed", "A-1", "pending"))
    # A paid order and one that does not say (the spec's default) are purchases, not reminders.
    await collect_post(client, key, collect_order("Order Completed", "A-2", "paid"))
    await collect_post(client, key, collect_order("Order Completed", "A-3", None))
    await run_jobs(ctx={"recovery": live(deps)})
    [mail] = smtp.messages
    assert mail["To"] == "noor.haddad@example.com" and "$58.00" in (
        mail.get_payload()[0].get_payload(decode=True).decode()
    )
    [enrollment] = await Enrollment.filter(trigger="order.payment_pending")
    assert enrollment.status == EnrollmentStatus.COMPLETED
    # Counted as confirmed, not the pending A-1.
    assert (await ContactHistory.get()).orders_count == 2


async def test_collect_pending_order_stops_when_an_update_says_paid(client, run_jobs, deps, smtp):
    issued = await make_store("custom", name="Shop")
    step = {**PENDING_STEP, "delay_seconds": 3600}
    await make_flow(client, issued.api_token, "order.payment_pending", [step])
    key = issued.store.publishable_key
    placed = utcnow()
    pending = collect_order("Order Completed", "B-1", None, payment_status="pending")
    await collect_post(client, key, pending)
    await run_jobs(ctx={"recovery": live(deps)})
    [enrollment] = await Enrollment.filter(trigger="order.payment_pending")
    assert enrollment.status == EnrollmentStatus.ACTIVE
    await collect_post(
        client, key, collect_order("Order Updated", "B-1", None, payment_status="paid")
    )
    await run_jobs(ctx={"recovery": live(deps)})
    await enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == (EnrollmentStatus.STOPPED, "order_paid")
    later = Deps(**{**deps.__dict__, "clock": lambda: placed + timedelta(hours=2)})
    assert await run_step(later, enrollment.id, 0) == "stale" and smtp.messages == []
    assert (await ContactHistory.get()).orders_count == 1

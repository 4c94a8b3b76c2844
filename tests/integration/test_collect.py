"""The collect endpoint: publishable key, Segment events, CORS by store origin, rate limit."""

from __future__ import annotations

import json

import pytest
from tortoise.exceptions import IntegrityError

from app.checkouts.contacts import upsert_contact
from app.checkouts.models import Checkout, CheckoutStatus, ConsentEvent, Contact, Order
from app.checkouts.schemas import ContactInput
from app.config import use_settings
from app.core import events
from app.core.outbox import OutboxEvent
from app.core.timeutil import utcnow
from app.ingest.models import RawEvent
from tests.conftest import make_settings
from tests.factories import make_store, payload


async def custom_store():
    issued = await make_store("custom", domain="shop.example.com")
    return issued.store


async def test_checkout_started_then_order_completed(client, run_jobs):
    store = await custom_store()
    started = payload("segment_checkout_started.json")
    response = await client.post(
        f"/collect/v1/events?key={store.publishable_key}",
        json=started,
        headers={"Origin": "https://shop.example.com"},
    )
    assert response.status_code == 202, response.text
    assert response.json() == {"accepted": 1, "ignored": 0, "duplicates": 0}
    assert response.headers["access-control-allow-origin"] == "https://shop.example.com"
    await run_jobs()
    checkout = await Checkout.get(store=store)
    assert checkout.token == "e3b0f1c2a9d84c7b8f6e5d4c3b2a1908"
    assert str(checkout.total) == "118.0000" and len(checkout.line_items) == 2
    assert checkout.line_items[0]["image_url"].endswith("linen-pillow-sage.jpg")
    assert checkout.visitor_id == "c6f1a2b3-4d5e-4f60-8a9b-0c1d2e3f4a5b"

    completed = payload("segment_order_completed.json")
    await client.post("/collect/v1/events", json={**completed, "writeKey": store.publishable_key})
    await run_jobs()
    assert (await Checkout.get(store=store)).status == CheckoutStatus.COMPLETED
    assert (await Order.get(store=store)).discount_codes == ["COMEBACK10"]


async def test_a_corrected_email_replaces_the_one_captured_first(client, run_jobs):
    """A shopper who paused mid-address ("…@example.co" is a valid address, and was captured)
    or fixed a typo is written to at the corrected address; an older event arriving late only
    fills in, it never brings the old address back."""
    store = await custom_store()
    started = payload("segment_checkout_started.json")

    async def post(message_id: str, at: str, email: str) -> None:
        event = {
            **started,
            "messageId": message_id,
            "timestamp": at,
            "context": {"traits": {"email": email}},
        }
        response = await client.post(f"/collect/v1/events?key={store.publishable_key}", json=event)
        assert response.status_code == 202, response.text
        await run_jobs()

    await post("m-1", "2026-01-08T18:41:07.000Z", "maya.okafor@example.co")
    first = await Checkout.get(store=store)
    assert first.email == "maya.okafor@example.co"
    await post("m-2", "2026-01-08T18:41:09.000Z", "maya.okafor@example.com")
    corrected = await Checkout.get(store=store)
    assert corrected.email == "maya.okafor@example.com"
    contact = await Contact.get(id=corrected.contact_id)  # type: ignore[attr-defined]
    assert contact.email == "maya.okafor@example.com"
    await post("m-0", "2026-01-08T18:41:05.000Z", "someone.else@example.com")  # late, older
    assert (await Checkout.get(store=store)).email == "maya.okafor@example.com"


async def test_text_plain_beacon_and_batch_with_duplicate(client):
    store = await custom_store()
    started = payload("segment_checkout_started.json")
    body = json.dumps(
        {
            "batch": [
                started,
                started,
                {"type": "track", "event": "Product Viewed", "anonymousId": "x"},
            ]
        }
    )
    response = await client.post(
        f"/collect/v1/events?key={store.publishable_key}",
        content=body,
        headers={"Content-Type": "text/plain"},
    )
    assert response.json() == {"accepted": 1, "ignored": 1, "duplicates": 1}
    assert await RawEvent.all().count() == 1


async def test_foreign_origin_unknown_key_and_bad_events_are_refused(client):
    store = await custom_store()
    started = payload("segment_checkout_started.json")
    url = f"/collect/v1/events?key={store.publishable_key}"
    foreign = await client.post(url, json=started, headers={"Origin": "https://evil.example"})
    assert foreign.status_code == 403
    # readable by the page, so the snippet can say in the console why nothing is captured
    assert foreign.headers["access-control-allow-origin"] == "https://evil.example"
    assert "not one of this store's sites" in foreign.json()["detail"]
    assert (await client.post("/collect/v1/events?key=fu_pk_nope", json=started)).status_code == 404
    assert (await client.post("/collect/v1/events", json=started)).status_code == 401
    bad = await client.post(url, json={"type": "track"})
    assert bad.status_code == 400 and "event" in bad.json()["detail"]
    bad_batch = await client.post(url, json={"batch": [started, "nope"]})
    assert bad_batch.status_code == 400 and "batch[1]" in bad_batch.json()["detail"]
    malformed = await client.post(url, content=b"{nope", headers={"Content-Type": "text/plain"})
    assert malformed.status_code == 400
    assert await RawEvent.all().count() == 0


async def test_preflight_allows_only_the_store_origins(client):
    store = await custom_store()
    ok = await client.options(
        f"/collect/v1/events?key={store.publishable_key}",
        headers={"Origin": "https://shop.example.com", "Access-Control-Request-Method": "POST"},
    )
    assert (
        ok.status_code == 204
        and ok.headers["access-control-allow-origin"] == "https://shop.example.com"
    )
    denied = await client.options(
        f"/collect/v1/events?key={store.publishable_key}",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in denied.headers


async def test_rate_limit_per_key_and_ip(client, settings):
    store = await custom_store()
    use_settings(make_settings(FOLLOWUP_COLLECT_RATE_PER_MINUTE="5"))
    try:
        identify = {"type": "identify", "anonymousId": "v1", "traits": {"email": "a@example.com"}}
        url = f"/collect/v1/events?key={store.publishable_key}"
        statuses = [(await client.post(url, json=identify)).status_code for _ in range(7)]
    finally:
        use_settings(settings)
    assert statuses[:5] == [202] * 5
    assert statuses[5:] == [429, 429]


async def test_sliding_window_counts_the_previous_bucket(redis):
    from app.core.ratelimit import hit

    for _ in range(5):
        assert await hit(redis, "k", 5, 60, now=119.0) == 0  # end of bucket 1
    assert await hit(redis, "k", 5, 60, now=121.0) > 0  # start of bucket 2: still over the limit
    assert await hit(redis, "k", 5, 60, now=179.0) == 0  # almost a full window later


async def test_an_off_site_checkout_url_is_not_kept_at_capture(client, run_jobs, caplog):
    store = await custom_store()
    url = f"/collect/v1/events?key={store.publishable_key}"
    for token, link in (("c-evil", "https://evil.example/phish"), ("c-own", None)):
        event = payload("segment_checkout_started.json")
        event["messageId"], event["properties"]["checkout_id"] = f"m-{token}", token
        event["properties"]["checkout_url"] = link or f"https://shop.example.com/c?id={token}"
        response = await client.post(url, json=event)
        assert response.status_code == 202, response.text
    with caplog.at_level("WARNING", logger="app.checkouts"):
        await run_jobs()
    evil = await Checkout.get(store=store, token="c-evil")
    own = await Checkout.get(store=store, token="c-own")
    assert evil.recovery_url is None and evil.total == own.total  # the cart itself is kept
    assert own.recovery_url == "https://shop.example.com/c?id=c-own"
    assert any("off the store's site" in r.getMessage() for r in caplog.records)


async def test_sms_consent_travels_as_the_consent_trait(client, run_jobs):
    """The documented way: `consent: {sms: true}` in identify traits or any event's context.traits."""
    store = await custom_store()
    key = f"/collect/v1/events?key={store.publishable_key}"
    identify = {
        "type": "identify",
        "anonymousId": "visitor-1",
        "messageId": "m-consent-1",
        "traits": {"phone": "+1 415 555 0173", "consent": {"sms": True}},
    }
    track = {
        "type": "track",
        "event": "Checkout Started",
        "anonymousId": "visitor-2",
        "messageId": "m-consent-2",
        "context": {"traits": {"email": "ann@example.com", "consent": {"sms": False}}},
        "properties": {"checkout_id": "c-2", "total": "20.00", "currency": "USD"},
    }
    for event in (identify, track):
        assert (await client.post(key, json=event)).status_code == 202
    await run_jobs()
    texted = await Contact.get(store=store, phone="+14155550173")
    assert texted.sms_consent is True and texted.sms_consent_source == "web_snippet"
    [event] = await ConsentEvent.filter(contact_id=texted.id)
    assert (event.channel, event.action, event.source) == ("sms", "opt_in", "web_snippet")
    silent = await Contact.get(store=store, email="ann@example.com")
    assert not silent.sms_consent  # `false` grants nothing and records nothing
    assert await ConsentEvent.filter(contact_id=silent.id).count() == 0


async def test_a_consent_is_kept_only_with_its_log_entry(settings):
    """A grant whose log entry cannot be written leaves no consent behind, so the event's retry
    grants and logs together (kept apart, a crash between them left a consent nobody could prove,
    and the retry found nothing left to log)."""
    store = await custom_store()
    contact = await Contact.create(store=store, phone="+14155550173")
    now = utcnow().replace(microsecond=0)
    taken = await OutboxEvent.create(  # the grant's announcement already exists: its insert fails
        name=events.CONTACT_OPTED_IN,
        store_id=store.id,
        subject_id=contact.id,
        payload={},
        dedupe_key=events.dedupe_key(
            events.CONTACT_OPTED_IN, store.id, contact.id, f"sms:{int(now.timestamp())}"
        ),
    )
    grant = ContactInput(phone="+1 415 555 0173", sms_consent=True, consent_source="web_snippet")
    with pytest.raises(IntegrityError):
        await upsert_contact(store, grant, now)
    await contact.refresh_from_db()
    assert not contact.sms_consent
    assert await ConsentEvent.filter(contact_id=contact.id).count() == 0

    await taken.delete()
    await upsert_contact(store, grant, now)  # the retry
    await contact.refresh_from_db()
    assert contact.sms_consent and contact.sms_consent_source == "web_snippet"
    [logged] = await ConsentEvent.filter(contact_id=contact.id)
    assert (logged.channel, logged.action) == ("sms", "opt_in")

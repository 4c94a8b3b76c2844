"""Twilio status callbacks: verified first, state only moves forward, permanent errors flag the contact."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

from twilio.request_validator import RequestValidator

from app.checkouts.models import Checkout, Contact
from app.messaging.models import DeliveryStatus, Message
from app.recovery.sending import run_step
from tests.conftest import TWILIO_TOKEN
from tests.factories import payload
from tests.recovery.conftest import abandoned


def signed(path: str, form: dict[str, str]) -> tuple[str, bytes, dict[str, str]]:
    url = f"https://app.example.com{path}"
    signature = RequestValidator(TWILIO_TOKEN).compute_signature(url, form)
    headers = {"X-Twilio-Signature": signature, "Content-Type": "application/x-www-form-urlencoded"}
    return path, urlencode(form).encode(), headers


async def sent_sms(deps, store, clock) -> Message:
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await run_step(deps, enrollment.id, 0) == "sent"
    return await Message.get(enrollment_id=enrollment.id, step_index=0)


async def test_delivered_then_late_sent_never_goes_backwards(client, deps, store, clock):
    message = await sent_sms(deps, store, clock)
    form = {
        **payload("twilio_status_callback_delivered_form.json"),
        "MessageSid": message.provider_id,
    }
    path, body, headers = signed(f"/webhooks/twilio/status?m={message.id}", form)
    response = await client.post(path, content=body, headers=headers)
    assert response.status_code == 204, response.text
    await message.refresh_from_db()
    assert message.status == DeliveryStatus.DELIVERED and message.delivered_at is not None

    late = {**form, "MessageStatus": "sent", "SmsStatus": "sent"}
    path, body, headers = signed(f"/webhooks/twilio/status?m={message.id}", late)
    assert (await client.post(path, content=body, headers=headers)).status_code == 204
    await message.refresh_from_db()
    assert message.status == DeliveryStatus.DELIVERED


async def test_bad_signature_is_refused_before_anything_changes(client, deps, store, clock):
    message = await sent_sms(deps, store, clock)
    form = {
        **payload("twilio_status_callback_delivered_form.json"),
        "MessageSid": message.provider_id,
    }
    path, _, headers = signed(f"/webhooks/twilio/status?m={message.id}", form)
    tampered = {**form, "MessageStatus": "failed"}
    response = await client.post(path, content=urlencode(tampered).encode(), headers=headers)
    assert response.status_code == 401
    await message.refresh_from_db()
    assert message.status == DeliveryStatus.QUEUED


async def test_unreachable_number_is_remembered_on_the_contact(client, deps, store, clock):
    message = await sent_sms(deps, store, clock)
    form = {
        **payload("twilio_status_callback_undelivered_form.json"),
        "MessageSid": message.provider_id,
    }
    path, body, headers = signed(f"/webhooks/twilio/status?m={message.id}", form)
    assert (await client.post(path, content=body, headers=headers)).status_code == 204
    await message.refresh_from_db()
    assert message.status == DeliveryStatus.UNDELIVERED and message.error_code == "30003"
    contact = await Contact.get(id=message.contact_id)
    assert contact.sms_undeliverable_at is not None and contact.sms_opted_out_at is None


async def test_callback_resolves_a_send_whose_answer_was_lost(client, deps, store, clock):
    """A crash after Twilio accepted left the row `unknown`; the callback (found by ?m=) settles it."""
    message = await sent_sms(deps, store, clock)
    await Message.filter(id=message.id).update(status=DeliveryStatus.UNKNOWN, provider_id=None)
    await Checkout.filter(id=message.checkout_id).update(recovery_contacted_at=None)
    form = {**payload("twilio_status_callback_delivered_form.json"), "MessageSid": "SMlost0001"}
    path, body, headers = signed(f"/webhooks/twilio/status?m={message.id}", form)
    assert (await client.post(path, content=body, headers=headers)).status_code == 204
    await message.refresh_from_db()
    assert message.status == DeliveryStatus.DELIVERED and message.provider_id == "SMlost0001"
    checkout = await Checkout.get(id=message.checkout_id)
    assert checkout.recovery_contacted_at is not None

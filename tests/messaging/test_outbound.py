"""The one outbound service on a channel recovery and agent replies both leave for later: an email
written by a person (a future email reply), through the real SendGrid client against a fake API."""

from __future__ import annotations

import pytest

from app.checkouts.models import Contact
from app.integrations.sendgrid.mail import SendGridEmailSender
from app.messaging import outbound
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.messaging.providers import DevOutboxSender
from app.stores.models import Store
from tests.factories import make_store
from tests.fakes.sendgrid import FakeSendGrid


@pytest.fixture
async def sendgrid():
    fake = await FakeSendGrid().start()
    yield fake
    await fake.stop()


async def _email(key: str, store: Store | None = None) -> Message:
    store = store or (await make_store("custom", name="Tidewater Teas")).store
    contact, _ = await Contact.get_or_create(store=store, email="jane@example.com")
    return await Message.create(
        store_id=store.id,
        contact_id=contact.id,
        channel=Channel.EMAIL,
        direction=Direction.OUTBOUND,
        author=Author.AGENT,
        to_address="jane@example.com",
        from_address="Tidewater Teas <hello@tidewater.example>",
        subject="About your order",
        body="It ships tomorrow.",
        status=DeliveryStatus.SENDING,
        idempotency_key=key,
    )


async def test_an_email_goes_out_and_is_recorded_with_the_providers_id(settings, sendgrid):
    message = await _email("test:email:1")
    senders = outbound.Providers(
        DevOutboxSender(), SendGridEmailSender(sendgrid.api_key, sendgrid.url)
    )
    email = outbound.Email(reply_to="help@tidewater.example")
    delivery = await outbound.send(message, senders, settings, email=email)
    assert delivery.outcome == outbound.SENT
    [sent] = sendgrid.sent
    assert sent["headers"] == {} and sent["reply_to"] == {"email": "help@tidewater.example"}
    stored = await Message.get(id=message.id)
    assert (stored.status, stored.provider) == (DeliveryStatus.QUEUED, "sendgrid")
    assert stored.provider_id == sent["message_id"] and stored.sent_at is not None
    await senders.close()


async def test_a_permanent_email_refusal_fails_and_flags_the_address(settings, sendgrid):
    message = await _email("test:email:2")
    sendgrid.fail_next.append(400)
    senders = outbound.Providers(
        DevOutboxSender(), SendGridEmailSender(sendgrid.api_key, sendgrid.url)
    )
    delivery = await outbound.send(message, senders, settings, retry=True)
    assert delivery.outcome == DeliveryStatus.FAILED  # permanent: never back to pending
    stored = await Message.get(id=message.id)
    assert (stored.status, stored.error_code) == (DeliveryStatus.FAILED, "400")
    contact = await Contact.get(id=stored.contact_id)
    assert contact.email_undeliverable_at is not None and contact.sms_undeliverable_at is None
    await senders.close()


async def test_a_transient_refusal_goes_back_to_pending_only_for_a_caller_that_retries(
    settings, sendgrid
):
    senders = outbound.Providers(
        DevOutboxSender(), SendGridEmailSender(sendgrid.api_key, sendgrid.url)
    )
    store = (await make_store("custom", name="Tidewater Teas")).store
    for key, retry, status in [("r:1", True, DeliveryStatus.PENDING), ("r:2", False, "failed")]:
        message = await _email(key, store)
        sendgrid.fail_next.append(503)
        delivery = await outbound.send(message, senders, settings, retry=retry)
        stored = await Message.get(id=message.id)
        assert (stored.status, stored.error_code) == (status, "503")
        assert delivery.outcome == (outbound.RETRY if retry else "failed")
        assert (await Contact.get(id=stored.contact_id)).email_undeliverable_at is None  # transient
    await senders.close()

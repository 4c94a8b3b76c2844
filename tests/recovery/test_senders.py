"""Email senders against real servers on loopback: aiosmtpd for SMTP, a fake SendGrid v3 API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from app.config import load_settings
from app.integrations.sendgrid.mail import SendGridEmailSender
from app.integrations.smtp.sender import SmtpEmailSender
from app.integrations.twilio.sms import TwilioSmsSender
from app.messaging.models import DeliveryStatus, Message
from app.messaging.providers import DevOutboxSender, email_sender, sms_sender
from app.messaging.senders import OutboundEmail, SendError
from app.messaging.throttle import reserve
from app.recovery.sending import Deps, run_step
from tests.conftest import TEST_ENV, app_client
from tests.fakes.sendgrid import FakeSendGrid
from tests.recovery.conftest import abandoned

MAIL = OutboundEmail(
    to="jane@example.com",
    from_="Tidewater Teas <hello@tidewater.example>",
    subject="Your cart",
    text="Complete your purchase: https://x/r/1",
    html="<p>Complete your purchase</p>",
    reply_to="help@tidewater.example",
    headers={
        "List-Unsubscribe": "<https://x/u/1>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    },
)


@pytest.fixture
async def sendgrid():
    fake = await FakeSendGrid().start()
    yield fake
    await fake.stop()


async def test_smtp_sends_text_and_html_with_unsubscribe_headers(smtp):
    result = await SmtpEmailSender(f"smtp://127.0.0.1:{smtp.port}").send_email(MAIL)
    assert result.status == DeliveryStatus.SENT
    [mail] = smtp.messages
    assert mail["Reply-To"] == "help@tidewater.example"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert [p.get_content_type() for p in mail.get_payload()] == ["text/plain", "text/html"]


async def test_smtp_server_down_is_transient():
    with pytest.raises(SendError) as caught:
        await SmtpEmailSender("smtp://127.0.0.1:9219", timeout=2).send_email(MAIL)
    assert not caught.value.permanent and not caught.value.ambiguous


async def test_sendgrid_v3_payload_and_errors(sendgrid):
    sender = SendGridEmailSender(sendgrid.api_key, sendgrid.url)
    result = await sender.send_email(MAIL)
    assert result.provider == "sendgrid" and result.provider_id == sendgrid.sent[0]["message_id"]
    body = sendgrid.sent[0]
    assert body["personalizations"] == [{"to": [{"email": "jane@example.com"}]}]
    assert body["from"] == {"email": "hello@tidewater.example", "name": "Tidewater Teas"}
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    sendgrid.fail_next.extend([429, 400])
    with pytest.raises(SendError) as busy:
        await sender.send_email(MAIL)
    with pytest.raises(SendError) as bad:
        await sender.send_email(MAIL)
    await sender.close()
    assert not busy.value.permanent and bad.value.permanent


async def test_recovery_email_through_sendgrid(deps, store, clock, sendgrid):
    sender = SendGridEmailSender(sendgrid.api_key, sendgrid.url)
    _, enrollment = await abandoned(store, clock.now - timedelta(hours=2), phone=None)
    through = Deps(**{**deps.__dict__, "email": sender})
    assert await run_step(through, enrollment.id, 0) == "skipped"  # no phone: the SMS step
    assert await run_step(through, enrollment.id, 1) == "sent"
    await sender.close()
    message = await Message.get(enrollment_id=enrollment.id, step_index=1)
    assert message.provider == "sendgrid" and message.status == DeliveryStatus.QUEUED
    assert sendgrid.sent[0]["subject"] == "Jane, your cart at Tidewater Teas is saved"


def test_provider_choice_follows_settings():
    assert isinstance(
        email_sender(load_settings({**TEST_ENV, "FOLLOWUP_SENDGRID_API_KEY": "k"})),
        SendGridEmailSender,
    )
    assert isinstance(
        email_sender(load_settings({**TEST_ENV, "FOLLOWUP_SMTP_URL": "smtp://h:25"})),
        SmtpEmailSender,
    )
    assert isinstance(email_sender(load_settings(TEST_ENV, dev_mode=True)), DevOutboxSender)


async def test_the_sms_sender_takes_the_provider_timeout():
    sender = sms_sender(load_settings({**TEST_ENV, "FOLLOWUP_PROVIDER_TIMEOUT_SECONDS": "7"}))
    assert isinstance(sender, TwilioSmsSender)
    try:
        assert sender._http.timeout == 7
        assert sender._http._client.timeout.read == 7
    finally:
        await sender.close()


async def test_throttle_spaces_sends_across_callers(redis):
    waits = await asyncio.gather(*(reserve(redis, "sms:+14155550100", 1, 5) for _ in range(4)))
    assert sorted(round(w) for w in waits) == [0, 1, 2, 3]
    assert await reserve(redis, "sms:+14155550100", 1, 2) < -2  # full: come back later
    assert await reserve(redis, "sms:+14155550199", 1, 2) == 0  # another number has its own pace


async def test_dev_outbox_page_only_in_dev_mode(settings, deps, store, clock):
    from dataclasses import replace

    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    dev = Deps(**{**deps.__dict__, "sms": DevOutboxSender(), "email": DevOutboxSender()})
    assert await run_step(dev, enrollment.id, 0) == "sent"
    async with app_client(replace(settings, dev_mode=True)) as client:
        page = await client.get("/dev/outbox")
        assert page.status_code == 200 and "Your Coffee mug is saved" in page.text
    async with app_client(settings) as client:
        assert (await client.get("/dev/outbox")).status_code == 404

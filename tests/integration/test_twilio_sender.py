"""The real twilio client, through our async transport, against the fake Twilio API."""

from __future__ import annotations

import pytest

from app.config import TwilioSettings
from app.integrations.twilio.signature import verify
from app.integrations.twilio.sms import TwilioSmsSender
from app.messaging.models import DeliveryStatus
from app.messaging.senders import OutboundSms, SendError
from tests.factories import payload
from tests.fakes.twilio import FakeTwilio


@pytest.fixture
async def fake_twilio():
    fake = await FakeTwilio().start()
    yield fake
    await fake.stop()


def sender_for(fake: FakeTwilio) -> TwilioSmsSender:
    return TwilioSmsSender(TwilioSettings(fake.account_sid, fake.auth_token, fake.url))


async def test_send_reaches_the_api_with_to_from_body_and_callback(fake_twilio):
    sender = sender_for(fake_twilio)
    result = await sender.send_sms(
        OutboundSms(
            to="+14155550173",
            from_="+14155550100",
            body="Hi Maya, any questions? 🙂",
            status_callback="https://app.example.com/webhooks/twilio/status?msg=1",
        )
    )
    await sender.close()
    assert result.provider == "twilio" and result.provider_id.startswith("SM")
    assert result.status == DeliveryStatus.QUEUED and result.segments == 1
    [sent] = fake_twilio.sent
    assert (sent["to"], sent["from"], sent["body"]) == (
        "+14155550173",
        "+14155550100",
        "Hi Maya, any questions? 🙂",
    )
    assert sent["status_callback"].endswith("?msg=1")


async def test_opted_out_number_is_a_permanent_error(fake_twilio):
    fake_twilio.opted_out.add("+14155550173")
    sender = sender_for(fake_twilio)
    with pytest.raises(SendError) as caught:
        await sender.send_sms(OutboundSms(to="+14155550173", from_="+14155550100", body="hi"))
    await sender.close()
    assert caught.value.code == "21610" and caught.value.permanent


async def test_server_error_is_transient(fake_twilio):
    fake_twilio.fail_next.append(503)
    sender = sender_for(fake_twilio)
    with pytest.raises(SendError) as caught:
        await sender.send_sms(OutboundSms(to="+14155550173", from_="+14155550100", body="hi"))
    assert not caught.value.permanent
    result = await sender.send_sms(OutboundSms(to="+14155550173", from_="+14155550100", body="hi"))
    await sender.close()
    assert result.provider_id and len(fake_twilio.sent) == 1


def test_documented_inbound_signature_verifies_and_tampering_fails():
    form = payload("twilio_inbound_sms_form.json")
    headers = payload("twilio_inbound_sms_headers.json")
    signature = headers["X-Twilio-Signature"]
    url = "https://app.example.com/twilio/inbound"
    assert verify("test_auth_token_do_not_use", url, form, signature)
    assert not verify("test_auth_token_do_not_use", url, {**form, "Body": "tampered"}, signature)
    assert not verify("wrong-token", url, form, signature)

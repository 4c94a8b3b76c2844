"""Sends made outside a worker (agent replies) share one set of senders per event loop instead of
opening a Twilio client each."""

from __future__ import annotations

import dataclasses

from app.config import load_settings
from app.messaging import providers
from app.messaging.senders import OutboundSms, SendError
from tests.conftest import TEST_ENV


async def test_sends_reuse_one_sender_until_the_provider_settings_change():
    settings = load_settings(TEST_ENV)
    first = await providers.shared(settings)
    assert await providers.shared(settings) is first
    moved = dataclasses.replace(
        settings, twilio=dataclasses.replace(settings.twilio, api_base_url="http://127.0.0.1:9")
    )
    second = await providers.shared(moved)
    assert second is not first
    assert first.sms._http._client.is_closed and not second.sms._http._client.is_closed
    assert await providers.shared(moved) is second
    await second.close()


async def test_a_channel_without_credentials_fails_each_send_saying_what_is_missing():
    settings = load_settings({**TEST_ENV, "FOLLOWUP_TWILIO_AUTH_TOKEN": ""})
    senders = providers.for_settings(settings)
    try:
        await senders.sms.send_sms(OutboundSms(to="+14155550173", from_="+1", body="hi"))
    except SendError as exc:
        assert exc.code == "not_configured" and not exc.permanent
        assert "FOLLOWUP_TWILIO_ACCOUNT_SID" in exc.message
    else:
        raise AssertionError("an unconfigured channel must not pretend to send")

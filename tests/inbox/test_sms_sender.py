"""Agent replies share one SMS sender per event loop instead of opening a Twilio client each."""

from __future__ import annotations

import dataclasses

from inbox import replies


async def test_replies_reuse_one_sender_until_the_twilio_settings_change(inbox_settings):
    first = await replies._sms_sender(inbox_settings)
    assert await replies._sms_sender(inbox_settings) is first
    moved = dataclasses.replace(
        inbox_settings,
        twilio=dataclasses.replace(inbox_settings.twilio, api_base_url="http://127.0.0.1:9"),
    )
    second = await replies._sms_sender(moved)
    assert second is not first
    assert first._http._client.is_closed and not second._http._client.is_closed
    assert await replies._sms_sender(moved) is second

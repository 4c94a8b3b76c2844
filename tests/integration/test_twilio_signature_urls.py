"""Twilio signs the webhook URL exactly as the merchant configured it; we verify what arrived."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from twilio.request_validator import RequestValidator

from app.config import use_settings
from app.messaging.models import Message
from tests.conftest import TWILIO_TOKEN, make_settings
from tests.inbox.conftest import sms_form, store_with_number


class _Repeated(dict):
    """A form whose names may repeat, in the shape RequestValidator reads (`getlist`)."""

    def getlist(self, name: str) -> list[str]:
        value = self[name]
        return value if isinstance(value, list) else [value]


def signature(url: str, form: dict[str, Any]) -> dict[str, str]:
    signed = RequestValidator(TWILIO_TOKEN).compute_signature(url, _Repeated(form))
    return {"X-Twilio-Signature": signed, "Content-Type": "application/x-www-form-urlencoded"}


@pytest.fixture
async def served(live_server: str) -> AsyncIterator[httpx.AsyncClient]:
    """A client of the app under a real uvicorn: raw paths exactly as an HTTP server passes them."""
    async with httpx.AsyncClient(base_url=live_server) as http:
        yield http


async def test_trailing_slash_as_pasted_by_the_merchant_is_accepted(served):
    await store_with_number()
    form = sms_form("Is it still in stock?")
    headers = signature("https://app.example.com/webhooks/twilio/sms/", form)
    response = await served.post("/webhooks/twilio/sms/", content=urlencode(form), headers=headers)
    assert response.status_code == 200, response.text
    assert await Message.all().count() == 1


async def test_signed_without_the_slash_but_received_with_it_is_refused(served):
    await store_with_number()
    form = sms_form("hello")
    headers = signature("https://app.example.com/webhooks/twilio/sms", form)
    response = await served.post("/webhooks/twilio/sms/", content=urlencode(form), headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"
    assert await Message.all().count() == 0


async def test_query_string_is_verified_as_sent_not_as_re_encoded(served):
    await store_with_number()
    form = sms_form("hi")
    path = "/webhooks/twilio/sms?store=Sage%20%26%20Co&z=1&a=2"
    headers = signature(f"https://app.example.com{path}", form)
    response = await served.post(path, content=urlencode(form), headers=headers)
    assert response.status_code == 200, response.text


async def test_repeated_form_fields_are_signed_value_by_value(client):
    await store_with_number()
    form: dict[str, Any] = {**sms_form("two photos"), "Tag": ["b", "a"]}
    headers = signature("https://app.example.com/webhooks/twilio/sms", form)
    response = await client.post(
        "/webhooks/twilio/sms", content=urlencode(form, doseq=True), headers=headers
    )
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("public_url", "signed_base"),
    [
        # Twilio sometimes signs with the default port spelled out, sometimes without.
        ("https://app.example.com", "https://app.example.com:443"),
        ("https://app.example.com:443", "https://app.example.com"),
        # A public URL on its own port keeps it.
        ("https://app.example.com:8443", "https://app.example.com:8443"),
        # Mounted under a prefix behind a proxy that strips it.
        ("https://shop-tools.example.com/followup", "https://shop-tools.example.com/followup"),
    ],
)
async def test_public_url_port_and_prefix(client, settings, public_url, signed_base):
    await store_with_number()
    use_settings(make_settings(FOLLOWUP_PUBLIC_URL=public_url))
    try:
        form = sms_form("hi there")
        headers = signature(f"{signed_base}/webhooks/twilio/sms", form)
        response = await client.post("/webhooks/twilio/sms", data=form, headers=headers)
    finally:
        use_settings(settings)
    assert response.status_code == 200, response.text


async def test_status_callback_bad_signature_is_401_like_every_webhook(served):
    form = {"MessageSid": "SM" + "b" * 32, "MessageStatus": "delivered"}
    path = "/webhooks/twilio/status/?m=1"
    headers = signature(f"https://app.example.com{path}", {**form, "MessageStatus": "failed"})
    response = await served.post(path, content=urlencode(form), headers=headers)
    assert response.status_code == 401 and response.json()["error"] == "bad_signature"
    good = signature(f"https://app.example.com{path}", form)
    response = await served.post(path, content=urlencode(form), headers=good)
    assert response.status_code == 204, response.text

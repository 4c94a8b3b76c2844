"""Twilio's inbound form as our InboundSms: required fields, bounds, and what is dropped."""

from __future__ import annotations

import pytest

from app.core.errors import ApiError
from app.integrations.twilio.webhooks import MAX_BODY, MAX_MEDIA, to_inbound
from inbox.schemas import InboundSms

BASE = {"MessageSid": "SM1", "From": " +14155550100 ", "To": "+14155550199", "Body": "hi"}


def test_fields_become_our_struct() -> None:
    form = {**BASE, "NumMedia": "2", "NumSegments": "3", "MediaUrl0": "https://a/0"}
    form["MediaUrl1"] = "http://plain/1"  # not https: never fetched, never shown
    assert to_inbound(form) == InboundSms(
        "SM1", "+14155550100", "+14155550199", "hi", ("https://a/0",), 3
    )


def test_repeated_fields_read_their_first_value() -> None:
    assert to_inbound({**BASE, "Body": ["first", "second"]}).body == "first"


@pytest.mark.parametrize("missing", ["MessageSid", "From", "To"])
def test_a_missing_identity_is_400(missing: str) -> None:
    with pytest.raises(ApiError) as refused:
        to_inbound({k: v for k, v in BASE.items() if k != missing})
    assert refused.value.status_code == 400


def test_an_oversized_sid_is_400_and_body_413() -> None:
    with pytest.raises(ApiError) as sid:
        to_inbound({**BASE, "MessageSid": "S" * 65})
    with pytest.raises(ApiError) as body:
        to_inbound({**BASE, "Body": "x" * (MAX_BODY + 1)})
    assert (sid.value.status_code, body.value.status_code) == (400, 413)


def test_counts_are_bounded_and_must_be_numbers() -> None:
    media = {f"MediaUrl{i}": f"https://m/{i}" for i in range(MAX_MEDIA + 5)}
    sms = to_inbound({**BASE, **media, "NumMedia": str(MAX_MEDIA + 5), "NumSegments": "0"})
    assert len(sms.media_urls) == MAX_MEDIA and sms.segments == 1
    with pytest.raises(ApiError) as refused:
        to_inbound({**BASE, "NumMedia": "two"})
    assert refused.value.status_code == 400

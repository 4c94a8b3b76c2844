"""Twilio webhooks: header constants, the signature check, and their forms as our own structs.

Inbound texts become `inbox.schemas.InboundSms`; status callbacks become
`app.integrations.twilio.status.DeliveryReport`. Twilio adds form fields over time, so every
field we read is named here and bounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from app.core.errors import ApiError
from app.integrations.twilio import signature
from app.integrations.twilio.form import Form, one
from inbox.schemas import InboundSms

SIGNATURE = "x-twilio-signature"
MAX_MEDIA = 10  # Twilio's own limit per MMS
MAX_BODY = 5000


def verify(
    auth_token: str,
    public_url: str,
    scope: Mapping[str, Any],
    form: Form,
    headers: Mapping[str, str],
) -> bool:
    """The signature over the URL as Twilio called it (on our public origin) and every field."""
    url = signature.public_request_url(public_url, scope)
    return signature.verify(auth_token, url, form, headers.get(SIGNATURE))


def to_inbound(form: Form) -> InboundSms:
    """An inbound SMS/MMS form as our InboundSms; a missing or oversized field is a clear 4xx."""
    sid, from_, to = one(form, "MessageSid"), one(form, "From"), one(form, "To")
    if not sid or not from_ or not to or len(sid) > 64:
        raise ApiError(400, "bad_form", "MessageSid, From and To are required")
    body = one(form, "Body")
    if len(body) > MAX_BODY:
        raise ApiError(413, "body_too_large", f"Body longer than {MAX_BODY} characters")
    try:
        media_count = min(int(one(form, "NumMedia") or 0), MAX_MEDIA)
        segments = int(one(form, "NumSegments") or 1)
    except ValueError:
        raise ApiError(400, "bad_form", "NumMedia and NumSegments must be whole numbers") from None
    media = tuple(
        url for i in range(media_count) if (url := one(form, f"MediaUrl{i}")).startswith("https://")
    )
    return InboundSms(sid, from_.strip(), to.strip(), body, media, max(segments, 1))

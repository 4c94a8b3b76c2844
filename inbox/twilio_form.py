"""Twilio's inbound form, read into our InboundSms with bounded sizes (Twilio adds fields over time)."""

from __future__ import annotations

from app.core.errors import ApiError
from app.integrations.twilio.form import one
from inbox.schemas import InboundSms

MAX_MEDIA = 10  # Twilio's own limit per MMS
MAX_BODY = 5000


def inbound_from_form(form: dict[str, str | list[str]]) -> InboundSms:
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

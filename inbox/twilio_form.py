"""Twilio's inbound form, read into our InboundSms with bounded sizes (Twilio adds fields over time)."""

from __future__ import annotations

from typing import Any

from app.core.errors import ApiError
from inbox.schemas import InboundSms

MAX_MEDIA = 10  # Twilio's own limit per MMS
MAX_BODY = 5000


def multi_dict(form: Any) -> dict[str, str | list[str]]:
    """Keep repeated names as lists: Twilio's signature sorts their values too."""
    out: dict[str, str | list[str]] = {}
    for key, value in form.multi_items():
        text = value if isinstance(value, str) else str(value)
        if key in out:
            prev = out[key]
            out[key] = [*prev, text] if isinstance(prev, list) else [prev, text]
        else:
            out[key] = text
    return out


def _one(form: dict[str, str | list[str]], name: str) -> str:
    value = form.get(name, "")
    return value[0] if isinstance(value, list) else value


def inbound_from_form(form: dict[str, str | list[str]]) -> InboundSms:
    sid, from_, to = _one(form, "MessageSid"), _one(form, "From"), _one(form, "To")
    if not sid or not from_ or not to or len(sid) > 64:
        raise ApiError(400, "bad_form", "MessageSid, From and To are required")
    body = _one(form, "Body")
    if len(body) > MAX_BODY:
        raise ApiError(413, "body_too_large", f"Body longer than {MAX_BODY} characters")
    try:
        media_count = min(int(_one(form, "NumMedia") or 0), MAX_MEDIA)
        segments = int(_one(form, "NumSegments") or 1)
    except ValueError:
        raise ApiError(400, "bad_form", "NumMedia and NumSegments must be whole numbers") from None
    media = tuple(
        url
        for i in range(media_count)
        if (url := _one(form, f"MediaUrl{i}")).startswith("https://")
    )
    return InboundSms(sid, from_.strip(), to.strip(), body, media, max(segments, 1))

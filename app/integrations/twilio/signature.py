"""X-Twilio-Signature checks against the public URL Twilio called, not the one we were proxied to."""

from __future__ import annotations

from collections.abc import Mapping

from twilio.request_validator import RequestValidator


def public_request_url(public_url: str, path: str, query: str) -> str:
    return f"{public_url.rstrip('/')}{path}" + (f"?{query}" if query else "")


def verify(
    auth_token: str, url: str, form: Mapping[str, str | list[str]], signature: str | None
) -> bool:
    if not auth_token or not signature:
        return False
    return bool(RequestValidator(auth_token).validate(url, dict(form), signature))

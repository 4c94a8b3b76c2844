"""X-Twilio-Signature checks against the URL Twilio called, as it arrived, on our public origin.

Twilio signs the webhook URL exactly as the merchant configured it: a trailing slash, the order
and percent-encoding of the query all count. So the path and query come from the raw request
(never the router's normalised path), and only the scheme and host come from FOLLOWUP_PUBLIC_URL,
because behind a proxy the host we see is not the one Twilio called. Twilio's port handling is
inconsistent; twilio's RequestValidator accepts the URL with and without the default port.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from twilio.request_validator import RequestValidator


def public_request_url(public_url: str, scope: Mapping[str, Any]) -> str:
    """Our public scheme, host and path prefix, then the raw path and query of this request."""
    base = urlsplit(public_url)
    raw_path = scope.get("raw_path") or str(scope.get("path", "")).encode()
    path = raw_path.split(b"?", 1)[0].decode("latin-1")  # some test transports append the query
    query = (scope.get("query_string") or b"").decode("latin-1")
    prefix = base.path.rstrip("/")
    return f"{base.scheme}://{base.netloc}{prefix}{path}" + (f"?{query}" if query else "")


class _Params(dict[str, list[str]]):
    """Form fields with every value of a repeated name, read by RequestValidator's `getlist`."""

    def getlist(self, name: str) -> list[str]:
        return self[name]


def verify(
    auth_token: str, url: str, form: Mapping[str, str | list[str]], signature: str | None
) -> bool:
    if not auth_token or not signature:
        return False
    params = _Params({k: v if isinstance(v, list) else [v] for k, v in form.items()})
    return bool(RequestValidator(auth_token).validate(url, params, signature))

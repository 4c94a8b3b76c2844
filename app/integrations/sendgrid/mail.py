"""SendGrid v3 Mail Send: our OutboundEmail as SendGrid's JSON, its answers as SendResult/SendError."""

from __future__ import annotations

from email.utils import parseaddr

import httpx

from app.config import Settings
from app.messaging.models import DeliveryStatus
from app.messaging.senders import OutboundEmail, SendError, SendResult

SENDGRID_API = "https://api.sendgrid.com"
# SendGrid refuses these headers in `headers`; they have their own fields.
_RESERVED = {"from", "to", "subject", "reply-to", "content-type", "message-id"}


def _address(value: str) -> dict[str, str]:
    name, email = parseaddr(value)
    return {"email": email, "name": name} if name else {"email": email}


def payload(message: OutboundEmail) -> dict[str, object]:
    content = [{"type": "text/plain", "value": message.text}]
    if message.html:
        content.append({"type": "text/html", "value": message.html})
    body: dict[str, object] = {
        "personalizations": [{"to": [_address(message.to)]}],
        "from": _address(message.from_),
        "subject": message.subject,
        "content": content,
        "headers": {k: v for k, v in message.headers.items() if k.lower() not in _RESERVED},
        "tracking_settings": {"click_tracking": {"enable": False}},
    }
    if message.reply_to:
        body["reply_to"] = _address(message.reply_to)
    return body


class SendGridEmailSender:
    name = "sendgrid"

    def __init__(self, api_key: str, base_url: str | None = None, timeout: float = 15.0) -> None:
        self._client = httpx.AsyncClient(
            base_url=(base_url or SENDGRID_API).rstrip("/"),
            headers={"Authorization": f"Bearer {api_key}"},
            timeout=timeout,
        )

    async def send_email(self, message: OutboundEmail) -> SendResult:
        try:
            response = await self._client.post("/v3/mail/send", json=payload(message))
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SendError("network", f"SendGrid unreachable: {exc}", permanent=False) from exc
        except httpx.HTTPError as exc:
            raise SendError("timeout", repr(exc), permanent=False, ambiguous=True) from exc
        if response.status_code == 202:
            return SendResult(
                self.name, response.headers.get("x-message-id"), DeliveryStatus.QUEUED
            )
        detail = response.text[:500]
        transient = response.status_code == 429 or response.status_code >= 500
        raise SendError(str(response.status_code), detail, permanent=not transient)

    async def close(self) -> None:
        await self._client.aclose()


def from_settings(settings: Settings) -> SendGridEmailSender | None:
    """The email provider when a SendGrid key is set (preferred over SMTP)."""
    if not settings.email.sendgrid_api_key:
        return None
    return SendGridEmailSender(
        settings.email.sendgrid_api_key,
        settings.email.sendgrid_base_url,
        settings.recovery.provider_timeout_seconds,
    )

"""SMTP email sender: MIME text + HTML alternative, errors sorted into retry, never, or unknown."""

from __future__ import annotations

import uuid
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlparse

import aiosmtplib

from app.config import Settings
from app.messaging.models import DeliveryStatus
from app.messaging.senders import OutboundEmail, SendError, SendResult


def build_mime(message: OutboundEmail) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = message.from_
    mime["To"] = message.to
    mime["Subject"] = message.subject
    mime["Date"] = formatdate(localtime=False)
    if message.reply_to:
        mime["Reply-To"] = message.reply_to
    for name, value in message.headers.items():
        mime[name] = value
    if "Message-ID" not in mime:
        mime["Message-ID"] = f"<{uuid.uuid4().hex}@followup>"
    mime.set_content(message.text)
    if message.html:
        mime.add_alternative(message.html, subtype="html")
    return mime


class SmtpEmailSender:
    name = "smtp"

    def __init__(self, url: str, timeout: float = 15.0) -> None:
        parts = urlparse(url)
        self.hostname = parts.hostname or "localhost"
        self.implicit_tls = parts.scheme == "smtps"
        self.port = parts.port or (465 if self.implicit_tls else 587)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        self.timeout = timeout

    async def send_email(self, message: OutboundEmail) -> SendResult:
        mime = build_mime(message)
        try:
            await aiosmtplib.send(
                mime,
                sender=message.envelope_from,
                hostname=self.hostname,
                port=self.port,
                username=self.username,
                password=self.password,
                use_tls=self.implicit_tls,
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            codes = [r.code for r in exc.recipients]
            permanent = any(500 <= c < 600 for c in codes)
            raise SendError(str(codes[0] if codes else 550), str(exc), permanent=permanent) from exc
        except aiosmtplib.SMTPResponseException as exc:
            raise SendError(str(exc.code), exc.message, permanent=500 <= exc.code < 600) from exc
        except (aiosmtplib.SMTPConnectError, ConnectionRefusedError, OSError) as exc:
            raise SendError("connect", f"SMTP server unreachable: {exc}", permanent=False) from exc
        except aiosmtplib.SMTPException as exc:  # timeouts after DATA: the server may have it
            raise SendError("smtp", str(exc), permanent=False, ambiguous=True) from exc
        return SendResult(self.name, str(mime["Message-ID"]), DeliveryStatus.SENT)


def from_settings(settings: Settings) -> SmtpEmailSender | None:
    """The email provider when an SMTP URL is set."""
    if not settings.email.smtp_url:
        return None
    return SmtpEmailSender(settings.email.smtp_url, settings.recovery.provider_timeout_seconds)

"""Invitation emails: over SMTP when configured, else the link goes to the log for the operator."""

from __future__ import annotations

import logging
from email.message import EmailMessage
from urllib.parse import unquote, urlparse

import aiosmtplib

from app.config import Settings
from app.core.logging import ctx

log = logging.getLogger(__name__)


def invitation_email(settings: Settings, to: str, store_name: str, url: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.email.default_from
    message["To"] = to
    message["Subject"] = f"You're invited to the {store_name} inbox on FollowUp"
    message.set_content(
        f"Hello,\n\nYou have been invited to answer shoppers for {store_name} on FollowUp.\n"
        f"Choose your password here (the link works once):\n\n{url}\n\n"
        "If you were not expecting this, ignore this email.\n"
    )
    return message


async def send_invitation(settings: Settings, to: str, store_name: str, url: str) -> bool:
    """Kept small on purpose: the recovery engine's email sender can take its place later.

    Returns True when handed to an SMTP server; False when only logged (no SMTP configured).
    """
    if not settings.email.smtp_url:
        log.info("invitation link (no SMTP configured)", extra=ctx(to=to, url=url))
        return False
    parts = urlparse(settings.email.smtp_url)
    await aiosmtplib.send(
        invitation_email(settings, to, store_name, url),
        hostname=parts.hostname or "localhost",
        port=parts.port or (465 if parts.scheme == "smtps" else 587),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=parts.scheme == "smtps",
        start_tls=None if parts.scheme == "smtp" else False,
        timeout=15,
    )
    return True

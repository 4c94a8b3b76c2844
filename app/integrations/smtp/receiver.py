"""`followup mail`: the built-in SMTP receiver (aiosmtpd) for self-hosters whose MX points at it.

Refusals happen inside the SMTP session, so the sending server (not us) tells its user:
- a recipient that is not a reply address we signed: `550 5.1.1` at RCPT, logged;
- a message over FOLLOWUP_INBOUND_EMAIL_MAX_BYTES: `552` (announced as SIZE in EHLO, checked at
  MAIL FROM and again while the data streams in, by aiosmtpd);
- a failure on our side while storing: `451 4.3.0`, so the sender tries again later.
A `250` after DATA means the email is stored (or was a duplicate, an auto-reply or a bounce).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from app.config import Settings
from app.core.logging import ctx
from app.messaging import addresses
from inbox import mail
from inbox.inbound_email import receive_email

log = logging.getLogger(__name__)


class ReplyHandler:
    """aiosmtpd's handler: the RCPT check and the DATA hand-over to the inbox."""

    def __init__(self, settings: Settings, redis: Any = None, queue: Any = None) -> None:
        self.settings = settings
        self.redis = redis
        self.queue = queue

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if addresses.thread_of(self.settings, address) is None:
            log.warning(
                "smtp recipient refused: not a valid reply address",
                extra=ctx(rcpt=address[:320], peer=str(session.peer)),
            )
            return "550 5.1.1 No such mailbox: not a reply address of this server"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.original_content or b""
        if not isinstance(raw, bytes):
            raw = str(raw).encode("utf-8", "replace")
        try:
            parsed = mail.from_mime(
                raw,
                provider="smtp",
                envelope_to=tuple(envelope.rcpt_tos),
                envelope_from=envelope.mail_from,
                max_attachments=self.settings.inbound_mail.max_attachments,
            )
            result = await receive_email(parsed, self.settings, self.redis, self.queue)
        except Exception:
            log.exception("inbound email not stored", extra=ctx(peer=str(session.peer)))
            return "451 4.3.0 Temporary failure storing the message, try again later"
        return f"250 2.0.0 Message accepted ({result.outcome})"


def smtp_factory(settings: Settings, handler: ReplyHandler) -> SMTP:
    return SMTP(
        handler,
        data_size_limit=settings.inbound_mail.max_bytes,
        enable_SMTPUTF8=True,
        hostname=settings.inbound_mail.domain or None,
        ident="FollowUp mail",
    )


async def start(
    settings: Settings, host: str, port: int, redis: Any = None, queue: Any = None
) -> asyncio.Server:
    """Listen on the running loop (the database and Redis clients live on it too)."""
    # aiosmtpd logs every command and address at INFO: our own lines say what matters.
    logging.getLogger("mail.log").setLevel(logging.WARNING)
    handler = ReplyHandler(settings, redis, queue)
    loop = asyncio.get_running_loop()
    return await loop.create_server(lambda: smtp_factory(settings, handler), host=host, port=port)

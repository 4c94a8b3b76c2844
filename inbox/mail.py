"""Inbound email in our own words: MIME (or SendGrid's parsed fields) to `InboundEmail`.

Parsed with the standard `email` package. Only the new text is kept (quoted history and
signatures cut by mail-parser-reply), HTML is sanitized with nh3 before anyone sees it, and
attachments are kept as metadata only (name, type, size), at most `max_attachments` of them.
Auto-replies and delivery reports (DSNs) are recognised here, with pure functions, so the
service never mistakes them for a shopper's answer.
"""

from __future__ import annotations

import html as htmllib
import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message, MIMEPart
from email.parser import HeaderParser
from email.utils import parseaddr

import nh3
from mailparser_reply import EmailReplyParser

LANGUAGES = ["en", "de", "fr", "es", "it", "nl", "pl", "sv", "cs", "da"]
MAX_TEXT = 20_000
# nh3's safe defaults, without images: a remote image in a reply is a tracking pixel for the sender.
HTML_TAGS = set(nh3.ALLOWED_TAGS) - {"img"}
AUTO_PRECEDENCE = {"auto_reply", "bulk", "junk", "list"}
AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?reply|out of (the )?office|abwesenheitsnotiz|automatische antwort|"
    r"r[ée]ponse automatique|respuesta autom[áa]tica)\b",
    re.IGNORECASE,
)


@dataclass(frozen=True, slots=True)
class Attachment:
    filename: str
    content_type: str
    size: int

    def as_dict(self) -> dict[str, object]:
        return {"filename": self.filename, "content_type": self.content_type, "size": self.size}


@dataclass(frozen=True, slots=True)
class Bounce:
    """A delivery report: `hard` when delivery failed for good (Action failed, Status 5.x.x)."""

    recipient: str | None
    status: str
    hard: bool


@dataclass(frozen=True, slots=True)
class InboundEmail:
    """One inbound email, whichever door it came through (our SMTP receiver or SendGrid)."""

    provider: str
    recipients: tuple[str, ...]  # envelope recipients first, then To and Cc
    sender: str  # the From address
    subject: str
    message_id: str
    in_reply_to: str = ""
    references: str = ""
    text: str = ""  # the new text only
    html: str | None = None  # sanitized
    attachments: tuple[Attachment, ...] = ()
    attachments_dropped: int = 0
    auto_reply: bool = False
    bounce: Bounce | None = None
    size: int = 0
    headers: dict[str, str] = field(default_factory=dict)


def is_auto_reply(headers: Message, envelope_from: str | None = None) -> bool:
    """RFC 3834's Auto-Submitted, the de-facto X-Autoreply/X-Autorespond and Precedence
    headers, and the usual out-of-office subjects; a null envelope sender is a machine too."""
    auto_submitted = str(headers.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return True
    if headers.get("X-Autoreply") or headers.get("X-Autorespond"):
        return True
    if str(headers.get("Precedence", "")).strip().lower() in AUTO_PRECEDENCE:
        return True
    if envelope_from is not None and envelope_from.strip("<> ") == "":
        return True
    return bool(AUTO_SUBJECT.match(str(headers.get("Subject", ""))))


def bounce_of(msg: Message) -> Bounce | None:
    """A DSN (RFC 3464: multipart/report; report-type=delivery-status): who failed, and how."""
    if msg.get_content_type() != "multipart/report":
        return None
    if str(msg.get_param("report-type", "")).lower() != "delivery-status":
        return None
    for part in msg.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in part.get_payload() or []:
            if not isinstance(block, Message) or not block.get("Action"):
                continue
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            final = str(block.get("Final-Recipient") or block.get("Original-Recipient") or "")
            recipient = final.partition(";")[2].strip() or None
            return Bounce(recipient, status, action == "failed" and status.startswith("5"))
    return Bounce(None, "", False)


def html_to_text(markup: str) -> str:
    """Text of an HTML-only email: block ends become line breaks, tags go, entities decode."""
    marked = re.sub(r"(?i)<\s*(br|/p|/div|/li|/tr|/h[1-6])\b[^>]*>", "\n", markup)
    return htmllib.unescape(nh3.clean(marked, tags=set())).strip()


def sanitize_html(markup: str) -> str:
    return nh3.clean(markup, tags=HTML_TAGS)


def new_text(text: str, markup: str | None) -> str:
    """What the shopper wrote this time: quoted history, reply headers and signatures cut."""
    source = text.strip() or (html_to_text(markup) if markup else "")
    if not source:
        return ""
    parsed = EmailReplyParser(languages=LANGUAGES).read(source[: MAX_TEXT * 5])
    reply = (parsed.latest_reply or "").strip()
    return (reply or source)[:MAX_TEXT]


def _bodies(msg: EmailMessage) -> tuple[str, str | None]:
    text_part = msg.get_body(preferencelist=("plain",))
    html_part = msg.get_body(preferencelist=("html",))
    text = _content(text_part) if text_part is not None else ""
    markup = _content(html_part) if html_part is not None else None
    return text, markup


def _content(part: MIMEPart) -> str:
    try:
        return str(part.get_content())
    except (LookupError, ValueError):  # an unknown charset: keep what decodes
        payload = part.get_payload(decode=True)
        return payload.decode("utf-8", "replace") if isinstance(payload, bytes) else ""


def _attachments(msg: EmailMessage, limit: int) -> tuple[tuple[Attachment, ...], int]:
    found: list[Attachment] = []
    dropped = 0
    for part in msg.iter_attachments():
        payload = part.get_payload(decode=True)
        size = len(payload) if isinstance(payload, bytes) else 0
        name = (part.get_filename() or "attachment")[:200]
        if len(found) >= limit:
            dropped += 1
            continue
        found.append(Attachment(name, part.get_content_type()[:100], size))
    return tuple(found), dropped


def _headers(msg: Message) -> dict[str, str]:
    names = ("From", "To", "Subject", "Message-ID", "In-Reply-To", "References", "Auto-Submitted")
    return {n: str(msg[n])[:998] for n in names if msg.get(n) is not None}


def from_mime(
    raw: bytes,
    *,
    provider: str,
    envelope_to: tuple[str, ...] = (),
    envelope_from: str | None = None,
    max_attachments: int = 20,
) -> InboundEmail:
    """A whole message as it arrived over SMTP (or SendGrid's raw mode)."""
    msg = message_from_bytes(raw, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    bounce = bounce_of(msg)
    text, markup = ("", None) if bounce else _bodies(msg)
    attachments, dropped = _attachments(msg, max_attachments) if not bounce else ((), 0)
    return InboundEmail(
        provider=provider,
        recipients=(*envelope_to, str(msg.get("To", "")), str(msg.get("Cc", ""))),
        sender=parseaddr(str(msg.get("From", "")))[1],
        subject=str(msg.get("Subject", ""))[:998],
        message_id=str(msg.get("Message-ID", "")).strip()[:998],
        in_reply_to=str(msg.get("In-Reply-To", "")).strip()[:998],
        references=" ".join(str(msg.get("References", "")).split())[:4000],
        text=new_text(text, markup),
        html=sanitize_html(markup) if markup else None,
        attachments=attachments,
        attachments_dropped=dropped,
        auto_reply=bounce is None and is_auto_reply(msg, envelope_from),
        bounce=bounce,
        size=len(raw),
        headers=_headers(msg),
    )


def from_fields(
    *,
    provider: str,
    headers_block: str,
    text: str,
    markup: str | None,
    envelope_to: tuple[str, ...],
    envelope_from: str | None,
    attachments: tuple[Attachment, ...],
    attachments_dropped: int,
    size: int,
) -> InboundEmail:
    """An email a provider already took apart (SendGrid's parsed mode): its header block, bodies
    and attachment metadata. Its DSNs arrive as text; the header block still says report."""
    head = HeaderParser(policy=policy.default).parsestr(headers_block)
    is_report = head.get_content_type() == "multipart/report"
    return InboundEmail(
        provider=provider,
        recipients=(*envelope_to, str(head.get("To", "")), str(head.get("Cc", ""))),
        sender=parseaddr(str(head.get("From", "")))[1],
        subject=str(head.get("Subject", ""))[:998],
        message_id=str(head.get("Message-ID", "")).strip()[:998],
        in_reply_to=str(head.get("In-Reply-To", "")).strip()[:998],
        references=" ".join(str(head.get("References", "")).split())[:4000],
        text=new_text(text, markup),
        html=sanitize_html(markup) if markup else None,
        attachments=attachments,
        attachments_dropped=attachments_dropped,
        auto_reply=not is_report and is_auto_reply(head, envelope_from),
        bounce=Bounce(None, "", False) if is_report else None,
        size=size,
        headers=_headers(head),
    )

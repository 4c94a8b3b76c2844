"""SendGrid Inbound Parse: who may post (a secret, since SendGrid signs nothing by default) and its
form fields to our `InboundEmail`, in raw mode (`email`: the whole MIME message) or parsed mode
(`headers`, `text`, `html`, `envelope`, `attachment-info`, files `attachment1..N`)."""

from __future__ import annotations

import base64
import binascii
import hmac
import json
from collections.abc import Mapping
from typing import Any

from inbox import mail

# The form fields of parsed mode we read (SendGrid's documented names).
HEADERS, TEXT, HTML, ENVELOPE, RAW = "headers", "text", "html", "envelope", "email"
ATTACHMENT_INFO, FROM = "attachment-info", "from"


def verify(secret: str, path_secret: str | None, authorization: str | None) -> bool:
    """The secret in the URL path, or as the basic-auth password (any user name)."""
    if not secret:
        return False
    given = path_secret or _basic_password(authorization) or ""
    return hmac.compare_digest(given.encode(), secret.encode())


def _basic_password(header: str | None) -> str | None:
    if not header or not header.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(header[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[2] or None


def _envelope(form: Mapping[str, Any]) -> tuple[tuple[str, ...], str | None]:
    """SendGrid's `envelope` JSON: the real recipients (`to` array) and sender (`from`)."""
    try:
        data = json.loads(str(form.get(ENVELOPE) or "{}"))
    except ValueError:
        return (), None
    if not isinstance(data, dict):
        return (), None
    to = data.get("to")
    recipients = tuple(str(a) for a in to) if isinstance(to, list) else ()
    sender = data.get("from")
    return recipients, str(sender) if isinstance(sender, str) else None


def _attachments(form: Mapping[str, Any], limit: int) -> tuple[tuple[mail.Attachment, ...], int]:
    """`attachment-info` describes the files `attachment1..N`; sizes come from the files."""
    try:
        info = json.loads(str(form.get(ATTACHMENT_INFO) or "{}"))
    except ValueError:
        info = {}
    found: list[mail.Attachment] = []
    dropped = 0
    for key, meta in sorted(info.items() if isinstance(info, dict) else []):
        if len(found) >= limit:
            dropped += 1
            continue
        meta = meta if isinstance(meta, dict) else {}
        upload = form.get(str(key))
        size = _size(upload)
        name = str(meta.get("filename") or getattr(upload, "filename", "") or "attachment")
        kind = str(meta.get("type") or getattr(upload, "content_type", "") or "")
        found.append(mail.Attachment(name[:200], kind[:100] or "application/octet-stream", size))
    return tuple(found), dropped


def _size(upload: Any) -> int:
    """An uploaded file's size, from its spooled file (nothing of it is kept)."""
    handle = getattr(upload, "file", None)
    if handle is None:
        return len(upload) if isinstance(upload, str | bytes) else 0
    handle.seek(0, 2)
    return int(handle.tell())


def to_inbound(form: Mapping[str, Any], size: int, max_attachments: int) -> mail.InboundEmail:
    recipients, sender = _envelope(form)
    raw = form.get(RAW)
    if raw:
        data = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else bytes(raw)
        return mail.from_mime(
            data,
            provider="sendgrid",
            envelope_to=recipients,
            envelope_from=sender,
            max_attachments=max_attachments,
        )
    attachments, dropped = _attachments(form, max_attachments)
    return mail.from_fields(
        provider="sendgrid",
        headers_block=str(form.get(HEADERS) or ""),
        text=str(form.get(TEXT) or ""),
        markup=str(form[HTML]) if form.get(HTML) else None,
        envelope_to=recipients,
        envelope_from=sender,
        attachments=attachments,
        attachments_dropped=dropped,
        size=size,
    )

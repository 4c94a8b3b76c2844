"""Twilio status callbacks: their form fields as our DeliveryReport."""

from __future__ import annotations

from collections.abc import Mapping

from app.integrations.twilio.codes import STATUS, contact_flag
from app.messaging.senders import DeliveryReport


def parse(form: Mapping[str, str], query: Mapping[str, str]) -> DeliveryReport | None:
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    if not sid:
        return None
    raw = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    code = str(form.get("ErrorCode") or "").strip() or None
    marker = str(query.get("m") or "")
    message_id = int(marker) if marker.isdigit() else None
    return DeliveryReport(sid, STATUS.get(raw), code, message_id, contact_flag(code))

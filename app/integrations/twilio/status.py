"""Twilio status callbacks: their form fields as our DeliveryReport."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.messaging.models import DeliveryStatus

# Twilio's message statuses, as the API answers a send and as status callbacks report them.
STATUS: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}
# Errors that say the number itself will not take texts: remembered on the contact.
OPTED_OUT = frozenset({"21610"})
UNREACHABLE = frozenset({"30003", "30004", "30005", "30006", "21614", "21211"})


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    sid: str
    status: DeliveryStatus | None
    error_code: str | None
    message_id: int | None


def parse(form: Mapping[str, str], query: Mapping[str, str]) -> DeliveryReport | None:
    sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
    if not sid:
        return None
    raw = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
    code = str(form.get("ErrorCode") or "").strip() or None
    marker = str(query.get("m") or "")
    return DeliveryReport(sid, STATUS.get(raw), code, int(marker) if marker.isdigit() else None)


def contact_flag(code: str | None) -> str | None:
    if code in OPTED_OUT:
        return "sms_opted_out_at"
    if code in UNREACHABLE:
        return "sms_undeliverable_at"
    return None

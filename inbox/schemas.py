"""What the inbox API and websocket frames carry: plain JSON shapes built from rows, one place."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import msgspec

from app.checkouts.models import Checkout, Contact
from app.core.money import format_money
from app.messaging import response_time
from app.messaging.models import Message
from inbox.models import Conversation


def iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def contact_json(contact: Contact) -> dict[str, Any]:
    return {
        "id": contact.id,
        "name": contact.full_name or None,
        "phone": contact.phone,
        "email": contact.email,
        "sms_consent": contact.sms_consent,
        "sms_opted_out": contact.sms_opted_out_at is not None,
        "sms_held": contact.sms_held_at is not None,
        "timezone": contact.timezone,
    }


def score_json(checkout: Checkout) -> dict[str, Any] | None:
    """The cart's predicted recovery score for people: a percentage and what it is worth."""
    if checkout.recovery_score is None:
        return None
    value = checkout.expected_value
    return {
        "likelihood": str(checkout.recovery_score),
        "percent": round(float(checkout.recovery_score) * 100),
        "expected_value": str(value) if value is not None else None,
        "expected_value_text": _money(value, checkout.currency, checkout.locale),
        "source": checkout.score_source,
    }


def conversation_json(
    conv: Conversation,
    contact: Contact,
    assignee: dict[str, Any] | None,
    unread: int | None = None,
    score: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """`score` is only in list rows (the cart's predicted recovery); live frames leave it out."""
    return {
        "id": conv.id,
        "status": str(conv.status),
        "snoozed_until": iso(conv.snoozed_until),
        "assignee": assignee,
        "contact": contact_json(contact),
        "checkout_id": conv.checkout_id,
        "inbound_count": conv.inbound_count,
        "unread": unread,
        "last_message_at": iso(conv.last_message_at),
        "last_message_preview": conv.last_message_preview,
        "last_message_id": conv.last_message_id,
        "waiting_since": iso(conv.waiting_since),
        "opened_at": iso(conv.opened_at),
        "closed_at": iso(conv.closed_at),
        "started_by": conv.started_by,
        "first_response": first_response_json(conv),
        **({"score": score} if score is not None else {}),
    }


def first_response_json(conv: Conversation) -> dict[str, Any] | None:
    """The opening's first-response clock: the page marks a thread overdue once `due_at` passes
    while `answered_at` is empty, computed in the browser (no timer job on the server)."""
    clock = response_time.Clock(
        conv.response_started_at, conv.response_channel, conv.response_due_at, conv.responded_at
    )
    if clock.started_at is None:
        return None
    return {
        "channel": clock.channel,
        "waiting_since": iso(clock.started_at),
        "due_at": iso(clock.due_at),
        "answered_at": iso(clock.answered_at),
        "seconds": clock.seconds,
        "target_seconds": clock.target_seconds,
        "within_target": clock.within_target,
        "text": response_time.duration_text(clock.seconds) if clock.seconds is not None else None,
    }


def message_json(msg: Message, agent_names: dict[int, str] | None = None) -> dict[str, Any]:
    return {
        "id": msg.id,
        "conversation_id": msg.conversation_id,
        "direction": str(msg.direction),
        "channel": str(msg.channel),
        "subject": msg.subject if msg.channel == "email" else None,
        "attachments": list(msg.attachments or []),
        "author": str(msg.author),
        "agent_id": msg.agent_id,
        "agent_name": (agent_names or {}).get(msg.agent_id or 0),
        "body": msg.body,
        "media_urls": list(msg.media_urls or []),
        "status": str(msg.status),
        "error_code": msg.error_code,
        "segments": msg.segments,
        "step_index": msg.step_index,
        "created_at": iso(msg.created_at),
        "updated_at": iso(msg.updated_at),
    }


def _money(amount: Any, currency: str, locale: str | None) -> str | None:
    return format_money(str(amount), currency, locale) if amount not in (None, "") else None


def checkout_json(checkout: Checkout) -> dict[str, Any]:
    cur, loc = checkout.currency, checkout.locale
    return {
        "id": checkout.id,
        "status": str(checkout.status),
        "currency": checkout.currency,
        "subtotal": str(checkout.subtotal),
        "total": str(checkout.total),
        "total_text": _money(checkout.total, cur, loc),
        "items": [
            {
                "title": str(item.get("title", "")),
                "variant_title": item.get("variant_title"),
                "quantity": item.get("quantity"),
                "unit_price": item.get("unit_price"),
                "line_total": item.get("line_total"),
                "line_total_text": _money(item.get("line_total"), cur, loc),
                "image_url": item.get("image_url"),
                "product_url": item.get("product_url"),
            }
            for item in (checkout.line_items or [])
            if isinstance(item, dict)
        ],
        "recovery_url": checkout.recovery_url,
        "score": score_json(checkout),
        "abandoned_at": iso(checkout.abandoned_at),
        "last_activity_at": iso(checkout.last_activity_at),
    }


# Request bodies: bounded sizes, unknown fields refused by msgspec's strictness.
class ReplyIn(msgspec.Struct, forbid_unknown_fields=True):
    body: str
    client_id: str
    channel: str | None = None
    """`sms` or `email`; left out: the channel the shopper last wrote on."""


class StartIn(msgspec.Struct, forbid_unknown_fields=True):
    contact_id: int
    body: str
    client_id: str
    allow_quiet_hours: bool = False


class NoteIn(msgspec.Struct, forbid_unknown_fields=True):
    body: str
    client_id: str


class AssignIn(msgspec.Struct, forbid_unknown_fields=True):
    agent_id: int | None


class SnoozeIn(msgspec.Struct, forbid_unknown_fields=True):
    until: datetime


class SequenceIn(msgspec.Struct, forbid_unknown_fields=True):
    action: str


class OptOutReviewIn(msgspec.Struct, forbid_unknown_fields=True):
    decision: Literal["confirm", "dismiss"]
    """confirm: the shopper opted out; dismiss: not an opt-out, automated texts resume."""


class CannedIn(msgspec.Struct, forbid_unknown_fields=True):
    title: str
    body: str


@dataclass(frozen=True, slots=True)
class InboundSms:
    """An inbound text in our own words, whichever door it came through (Twilio or the dev phone)."""

    message_sid: str
    from_: str
    to: str
    body: str
    media_urls: tuple[str, ...] = ()
    segments: int = 1

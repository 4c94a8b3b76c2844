"""The webhook event catalogue: which domain event announces which webhook event, and its JSON.

Every payload is `{"type", "version", "timestamp", "store_id", "data"}`; `version` changes only
when a field is removed or changes meaning (adding fields keeps it). docs/integrations.md lists
every event's `data`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.checkouts.models import Checkout, Contact
from app.core import events
from app.core.money import quantize
from app.core.outbox import OutboxEvent
from app.messaging.models import Direction, Message

VERSION = 1
CHECKOUT_ABANDONED = "checkout.abandoned"
CHECKOUT_RECOVERED = "checkout.recovered"
ORDER_ATTRIBUTED = "order.attributed"
MESSAGE_SENT = "message.sent"
MESSAGE_DELIVERED = "message.delivered"
MESSAGE_FAILED = "message.failed"
MESSAGE_RECEIVED = "message.received"
CONVERSATION_ASSIGNED = "conversation.assigned"
CONTACT_OPTED_OUT = "contact.opted_out"
CONTACT_OPTED_IN = "contact.opted_in"
ENROLLMENT_STOPPED = "enrollment.stopped"

# Domain event -> the webhook events it announces. A recovered checkout is an attributed order:
# FollowUp calls a checkout recovered only when its recovery contacted the shopper before the order.
ANNOUNCES: dict[str, tuple[str, ...]] = {
    events.CHECKOUT_ABANDONED: (CHECKOUT_ABANDONED,),
    events.CHECKOUT_RECOVERED: (CHECKOUT_RECOVERED, ORDER_ATTRIBUTED),
    events.MESSAGE_SENT: (MESSAGE_SENT,),
    events.MESSAGE_DELIVERED: (MESSAGE_DELIVERED,),
    events.MESSAGE_FAILED: (MESSAGE_FAILED,),
    events.SHOPPER_REPLIED: (MESSAGE_RECEIVED,),
    events.CONVERSATION_ASSIGNED: (CONVERSATION_ASSIGNED,),
    events.CONTACT_OPTED_OUT: (CONTACT_OPTED_OUT,),
    events.CONTACT_OPTED_IN: (CONTACT_OPTED_IN,),
    events.ENROLLMENT_STOPPED: (ENROLLMENT_STOPPED,),
}
WEBHOOK_EVENTS: tuple[str, ...] = tuple(name for names in ANNOUNCES.values() for name in names)


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def _money(value: Decimal | None, currency: str) -> str:
    return str(quantize(Decimal(value or 0), currency))


def contact_json(contact: Contact | None) -> dict[str, Any] | None:
    if contact is None:
        return None
    return {
        "id": contact.id,
        "email": contact.email,
        "phone": contact.phone,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "email_consent": contact.email_consent,
        "sms_consent": contact.sms_consent,
        "email_opted_out": contact.email_opted_out_at is not None,
        "sms_opted_out": contact.sms_opted_out_at is not None,
    }


def checkout_json(checkout: Checkout) -> dict[str, Any]:
    cur = checkout.currency
    return {
        "id": checkout.id,
        "platform": checkout.platform,
        "token": checkout.token,
        "status": str(checkout.status),
        "email": checkout.email,
        "phone": checkout.phone,
        "currency": cur,
        "subtotal": _money(checkout.subtotal, cur),
        "total": _money(checkout.total, cur),
        "line_items": [
            {
                "title": item.get("title", ""),
                "quantity": int(item.get("quantity", 1)),
                "unit_price": _money(Decimal(str(item.get("unit_price", "0"))), cur),
                "sku": item.get("sku"),
                "image_url": item.get("image_url"),
                "product_url": item.get("product_url"),
            }
            for item in checkout.line_items or []
        ],
        "recovery_url": checkout.recovery_url,
        "abandoned_at": _when(checkout.abandoned_at),
        "completed_at": _when(checkout.completed_at),
        "order_id": checkout.order_external_id,
    }


def message_json(message: Message) -> dict[str, Any]:
    return {
        "id": message.id,
        "channel": str(message.channel),
        "direction": str(message.direction),
        "author": str(message.author),
        "status": str(message.status),
        "to": message.to_address,
        "from": message.from_address,
        "body": message.body,
        "checkout_id": message.checkout_id,
        "contact_id": message.contact_id,
        "conversation_id": message.conversation_id,
        "step": message.step_index,
        "error_code": message.error_code,
        "sent_at": _when(message.sent_at),
        "delivered_at": _when(message.delivered_at),
    }


async def _checkout(event: OutboxEvent) -> dict[str, Any] | None:
    checkout = await Checkout.get_or_none(id=event.subject_id, store_id=event.store_id)
    if checkout is None:
        return None
    contact = await Contact.get_or_none(id=checkout.contact_id) if checkout.contact_id else None
    return {"checkout": checkout_json(checkout), "contact": contact_json(contact)}


async def _attributed(event: OutboxEvent) -> dict[str, Any] | None:
    """The order and the last recovery message the shopper got before placing it."""
    found = await _checkout(event)
    if found is None:
        return None
    last = (
        await Message.filter(
            checkout_id=event.subject_id, direction=Direction.OUTBOUND, sent_at__isnull=False
        )
        .order_by("-sent_at")
        .first()
    )
    checkout = found["checkout"]
    return {
        "order_id": event.payload.get("order") or checkout["order_id"],
        "placed_at": event.payload.get("placed_at"),
        "total": checkout["total"],
        "currency": checkout["currency"],
        "checkout": checkout,
        "contact": found["contact"],
        "attributed_to": None
        if last is None
        else {"message_id": last.id, "channel": str(last.channel), "step": last.step_index},
    }


async def _message(event: OutboxEvent) -> dict[str, Any] | None:
    message = await Message.get_or_none(id=event.subject_id, store_id=event.store_id)
    if message is None:
        return None
    contact = await Contact.get_or_none(id=message.contact_id) if message.contact_id else None
    return {"message": message_json(message), "contact": contact_json(contact)}


async def _contact(event: OutboxEvent) -> dict[str, Any] | None:
    contact = await Contact.get_or_none(id=event.subject_id, store_id=event.store_id)
    if contact is None:
        return None
    return {
        "contact": contact_json(contact),
        "channel": event.payload.get("channel"),
        "source": event.payload.get("source"),
    }


async def _conversation(event: OutboxEvent) -> dict[str, Any] | None:
    return {
        "conversation_id": event.subject_id,
        "agent_id": event.payload.get("agent_id"),
        "contact_id": event.payload.get("contact_id"),
        "checkout_id": event.payload.get("checkout_id"),
    }


async def _enrollment(event: OutboxEvent) -> dict[str, Any] | None:
    return {
        "enrollment_id": event.subject_id,
        "checkout_id": event.payload.get("checkout_id"),
        "reason": event.payload.get("reason"),
    }


Builder = Callable[[OutboxEvent], Awaitable[dict[str, Any] | None]]
BUILDERS: dict[str, Builder] = {
    CHECKOUT_ABANDONED: _checkout,
    CHECKOUT_RECOVERED: _checkout,
    ORDER_ATTRIBUTED: _attributed,
    MESSAGE_SENT: _message,
    MESSAGE_DELIVERED: _message,
    MESSAGE_FAILED: _message,
    MESSAGE_RECEIVED: _message,
    CONVERSATION_ASSIGNED: _conversation,
    CONTACT_OPTED_OUT: _contact,
    CONTACT_OPTED_IN: _contact,
    ENROLLMENT_STOPPED: _enrollment,
}


async def build(name: str, event: OutboxEvent) -> dict[str, Any] | None:
    """The webhook body for one outbox event; None when its subject is gone (nothing to say)."""
    data = await BUILDERS[name](event)
    if data is None:
        return None
    return {
        "type": name,
        "version": VERSION,
        "timestamp": event.created_at.isoformat(),
        "store_id": event.store_id,
        "data": data,
    }

"""Segment forwarding: FollowUp's events as Segment spec track calls, through Segment's own client.

Only this module knows Segment's names. Calls go out in the library's sync mode (one blocking
POST per event, on a thread), so a failure raises into the event handler and the outbox retries
it; the `messageId` is fixed per event, so Segment deduplicates a retried call.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from segment.analytics import Client

from app.checkouts.models import Checkout, Contact
from app.config import get_settings
from app.core import events
from app.core.money import quantize
from app.core.outbox import OutboxEvent
from app.integrations.segment.models import SegmentDestination
from app.messaging.models import Author, Direction, Message

# Domain event -> Segment event name (object + past-tense action, as the Segment spec names them).
TRACKED: dict[str, str] = {
    events.CHECKOUT_ABANDONED: "Checkout Abandoned",
    events.MESSAGE_SENT: "Recovery Message Sent",
    events.LINK_CLICKED: "Recovery Link Clicked",
    events.CHECKOUT_RECOVERED: "Checkout Recovered",
    events.CONTACT_OPTED_OUT: "Contact Opted Out",
}
TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class Track:
    """One Segment track call, in our words until `send` hands it to the library."""

    event: str
    message_id: str
    user_id: str | None
    anonymous_id: str
    traits: dict[str, Any]
    properties: dict[str, Any]
    timestamp: Any


_clients: dict[tuple[str, str], Client] = {}


def _client(write_key: str, host: str) -> Client:
    """One library client per write key and host (it registers an exit hook per instance)."""
    key = (write_key, host)
    if key not in _clients:
        _clients[key] = Client(
            write_key=write_key, host=host, sync_mode=True, timeout=TIMEOUT_SECONDS
        )
    return _clients[key]


def send(write_key: str, call: Track) -> None:
    """Blocking: the library POSTs `/v1/batch` and raises `APIError` on anything but 200."""
    _client(write_key, get_settings().hooks.segment_host).track(
        user_id=call.user_id,
        anonymous_id=call.anonymous_id,
        event=call.event,
        properties=call.properties,
        context={"traits": call.traits},
        timestamp=call.timestamp,
        message_id=call.message_id,
    )


def _money(value: Decimal, currency: str) -> float:
    """Segment's spec wants numbers; the Decimal is rounded to the currency first."""
    return float(quantize(Decimal(value), currency))


def products(checkout: Checkout) -> list[dict[str, Any]]:
    rows = [
        {
            "sku": item.get("sku"),
            "name": item.get("title"),
            "variant": item.get("variant_title"),
            "price": _money(Decimal(str(item.get("unit_price", "0"))), checkout.currency),
            "quantity": int(item.get("quantity", 1)),
            "url": item.get("product_url"),
            "image_url": item.get("image_url"),
        }
        for item in checkout.line_items or []
    ]
    return [{k: v for k, v in row.items() if v is not None} for row in rows]


def checkout_properties(checkout: Checkout) -> dict[str, Any]:
    return {
        "checkout_id": checkout.token,
        "order_id": checkout.order_external_id,
        "value": _money(checkout.total, checkout.currency),
        "revenue": _money(checkout.total, checkout.currency),
        "currency": checkout.currency,
        "products": products(checkout),
        "recovery_url": checkout.recovery_url,
    }


def _traits(contact: Contact | None, checkout: Checkout | None) -> dict[str, Any]:
    email = (contact.email if contact else None) or (checkout.email if checkout else None)
    phone = (contact.phone if contact else None) or (checkout.phone if checkout else None)
    traits = {"email": email, "phone": phone}
    if contact:
        traits |= {"first_name": contact.first_name, "last_name": contact.last_name}
    return {k: v for k, v in traits.items() if v}


async def _subjects(event: OutboxEvent) -> tuple[Checkout | None, Contact | None, dict[str, Any]]:
    """The checkout and contact an event is about, and what it adds to the properties."""
    extra: dict[str, Any] = {}
    checkout_id: int | None = None
    contact_id: int | None = None
    if event.name in (events.CHECKOUT_ABANDONED, events.CHECKOUT_RECOVERED):
        checkout_id = event.subject_id
    elif event.name == events.CONTACT_OPTED_OUT:
        contact_id = event.subject_id
        extra = {"channel": event.payload.get("channel"), "source": event.payload.get("source")}
    elif event.name == events.MESSAGE_SENT:
        message = await Message.get_or_none(id=event.subject_id, store_id=event.store_id)
        if message is None or message.direction != Direction.OUTBOUND:
            return None, None, {}
        if message.author != Author.AUTOMATION:
            return None, None, {}  # an agent's reply is a conversation, not a recovery message
        checkout_id, contact_id = message.checkout_id, message.contact_id
        extra = {"channel": str(message.channel), "step": message.step_index}
    elif event.name == events.LINK_CLICKED:
        checkout_id = event.payload.get("checkout_id")
    checkout = (
        await Checkout.get_or_none(id=checkout_id, store_id=event.store_id) if checkout_id else None
    )
    if checkout is not None and contact_id is None:
        contact_id = checkout.contact_id
    contact = (
        await Contact.get_or_none(id=contact_id, store_id=event.store_id) if contact_id else None
    )
    return checkout, contact, extra


def _anonymous_id(checkout: Checkout | None, contact: Contact | None) -> str:
    """The browser's own id when capture saw one, else a stable id of ours for the shopper."""
    if checkout is not None and checkout.visitor_id:
        return checkout.visitor_id
    if contact is not None:
        return f"followup-contact-{contact.id}"
    return f"followup-checkout-{checkout.id if checkout else 0}"


async def track_for(event: OutboxEvent) -> Track | None:
    """The track call for an event; None when there is nobody to attribute it to."""
    checkout, contact, extra = await _subjects(event)
    if checkout is None and contact is None:
        return None
    properties = (checkout_properties(checkout) if checkout else {}) | extra
    anonymous = _anonymous_id(checkout, contact)
    return Track(
        event=TRACKED[event.name],
        message_id=f"followup-{event.id}",
        user_id=contact.external_id if contact else None,
        anonymous_id=anonymous,
        traits=_traits(contact, checkout),
        properties={k: v for k, v in properties.items() if v is not None},
        timestamp=event.created_at,
    )


async def forward(event: OutboxEvent) -> bool:
    """Send the event to the store's Segment workspace, if it set a write key."""
    destination = await events.read_once(
        ("segment destination", event.store_id),
        lambda: SegmentDestination.get_or_none(store_id=event.store_id),
    )
    if destination is None:
        return False
    call = await track_for(event)
    if call is None:
        return False
    await asyncio.to_thread(send, destination.write_key, call)
    return True


async def set_write_key(store_id: int, write_key: str) -> None:
    """Save (or, when blank, remove) the store's Segment write key; kept encrypted."""
    write_key = write_key.strip()
    if not write_key:
        await SegmentDestination.filter(store_id=store_id).delete()
        return
    if len(write_key) > 200 or any(c.isspace() for c in write_key):
        raise ValueError("a Segment write key is one word of at most 200 characters")
    destination = await SegmentDestination.get_or_none(store_id=store_id)
    if destination is None:
        await SegmentDestination.create(store_id=store_id, write_key=write_key)
        return
    destination.write_key = write_key
    await destination.save(update_fields=["write_key", "updated_at"])

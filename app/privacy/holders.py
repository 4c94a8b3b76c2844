"""The foundation's personal data (contacts, checkouts, orders, messages, raw deliveries, exports)."""

from __future__ import annotations

from typing import Any

from tortoise.expressions import Q

from app.checkouts.models import Checkout, ConsentEvent, Contact, Order
from app.checkouts.schemas import plain
from app.core.outbox import OutboxEvent
from app.ingest.models import RawEvent
from app.messaging.models import Message
from app.privacy.models import DataExport
from app.privacy.registry import (
    Subject,
    any_in,
    register_eraser,
    register_exporter,
    register_store_eraser,
)
from app.visitors.models import Visitor

REDACTED = "[redacted]"


def _by_person(subject: Subject) -> Q:
    """Rows tied to the subject by contact, email or phone; an impossible match when we know nothing."""
    return any_in(contact_id=subject.contact_ids, email=subject.emails, phone=subject.phones)


def _messages(subject: Subject) -> Q:
    addresses = subject.emails | subject.phones
    return any_in(contact_id=subject.contact_ids, to_address=addresses, from_address=addresses)


def _orders(subject: Subject) -> Q:
    return any_in(
        contact_id=subject.contact_ids,
        email=subject.emails,
        phone=subject.phones,
        external_id=subject.order_ids,
    )


@register_exporter("contacts")
async def export_contacts(subject: Subject) -> Any:
    rows = await Contact.filter(store_id=subject.store_id, id__in=subject.contact_ids or (-1,))
    return [_row(r, exclude={"store_id"}) for r in rows]


@register_exporter("consent_events")
async def export_consent(subject: Subject) -> Any:
    rows = await ConsentEvent.filter(
        store_id=subject.store_id, contact_id__in=subject.contact_ids or (-1,)
    )
    return [_row(r, exclude={"store_id", "contact_id"}) for r in rows]


@register_exporter("checkouts")
async def export_checkouts(subject: Subject) -> Any:
    rows = await Checkout.filter(_by_person(subject), store_id=subject.store_id)
    return [_row(r, exclude={"store_id", "contact_id"}) for r in rows]


@register_exporter("orders")
async def export_orders(subject: Subject) -> Any:
    rows = await Order.filter(_orders(subject), store_id=subject.store_id)
    return [_row(r, exclude={"store_id", "contact_id", "checkout_id"}) for r in rows]


@register_exporter("messages")
async def export_messages(subject: Subject) -> Any:
    rows = await Message.filter(_messages(subject), store_id=subject.store_id).order_by("id")
    keep = ("channel", "direction", "author", "subject", "body", "status", "created_at", "sent_at")
    return [{k: getattr(r, k) for k in keep} for r in rows]


def _row(row: Any, exclude: set[str]) -> dict[str, Any]:
    return {
        k: plain(getattr(row, k))
        for k in row._meta.db_fields
        if k not in exclude and k not in ("api_token_digest",)
    }


@register_eraser("messages")
async def erase_messages(subject: Subject) -> int:
    """Bodies and addresses go; channel, status and timing stay for anonymous statistics."""
    return await Message.filter(_messages(subject), store_id=subject.store_id).update(
        body=REDACTED,
        html=None,
        subject=None,
        media_urls=[],
        to_address=REDACTED,
        from_address=None,
        contact_id=None,
        error_message=None,
    )


@register_eraser("checkouts")
async def erase_checkouts(subject: Subject) -> int:
    """Totals, items and status stay (recovered revenue); everything that names the shopper goes."""
    return await Checkout.filter(_by_person(subject), store_id=subject.store_id).update(
        email=None,
        phone=None,
        phone_invalid_reason=None,
        contact_id=None,
        address=None,
        recovery_url=None,
        visitor_id=None,
    )


@register_eraser("visitors")
async def erase_visitors(subject: Subject) -> int:
    """Forget which browsers and accounts were this person: later events stay anonymous."""
    ids = subject.contact_ids or (-1,)
    return await Visitor.filter(store_id=subject.store_id, contact_id__in=ids).delete()


@register_eraser("orders")
async def erase_orders(subject: Subject) -> int:
    return await Order.filter(_orders(subject), store_id=subject.store_id).update(
        email=None, phone=None, contact_id=None
    )


@register_eraser("raw_events")
async def erase_raw_events(subject: Subject) -> int:
    """Stored deliveries keep their id (deduplication still works) but lose their body."""
    query = Q(id=-1)
    for value in subject.values:
        query |= Q(body__contains=value)
    return await RawEvent.filter(query, store_id=subject.store_id).update(body='{"redacted":true}')


@register_eraser("data_exports")
async def erase_exports(subject: Subject) -> int:
    # Only the digests are needed: loading the exports would decrypt every document.
    exports = await DataExport.filter(store_id=subject.store_id).values_list("id", "subject_keys")
    keys = set(subject.keys())
    doomed = [i for i, subject_keys in exports if keys & set(subject_keys or [])]
    return await DataExport.filter(id__in=doomed).delete() if doomed else 0


@register_eraser("contacts")
async def erase_contacts(subject: Subject) -> int:
    """Last: consent history goes with the contact (cascade), other rows were unlinked above."""
    return await Contact.filter(
        store_id=subject.store_id, id__in=subject.contact_ids or (-1,)
    ).delete()


@register_store_eraser("outbox")
async def erase_outbox(store_id: int) -> int:
    return await OutboxEvent.filter(store_id=store_id).delete()

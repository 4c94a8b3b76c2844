"""Privacy requests: find a customer, export what we hold, erase it; delete a whole store's data."""

from __future__ import annotations

import json
import logging
from typing import Any

from tortoise.transactions import in_transaction

from app.checkouts.models import Contact
from app.checkouts.schemas import plain
from app.core.logging import ctx
from app.core.timeutil import utcnow
from app.privacy import holders as _holders  # noqa: F401  (registers the foundation's data)
from app.privacy.models import DataExport
from app.privacy.registry import ERASERS, EXPORTERS, STORE_ERASERS, Subject, any_in
from app.stores.models import Store

log = logging.getLogger(__name__)


async def resolve(subject: Subject) -> Subject:
    """Attach our Contact ids: found by email, phone or the platform's customer id."""
    query = any_in(email=subject.emails, phone=subject.phones, external_id=subject.customer_ids)
    found = await Contact.filter(query, store_id=subject.store_id).values_list(
        "id", "email", "phone"
    )
    ids = [int(i) for i, _, _ in found]
    emails = subject.emails | {email for _, email, _ in found if email}
    phones = subject.phones | {phone for _, _, phone in found if phone}
    return Subject(
        store_id=subject.store_id,
        emails=frozenset(emails),
        phones=frozenset(phones),
        customer_ids=subject.customer_ids,
        order_ids=subject.order_ids,
        contact_ids=tuple(sorted(ids)),
    )


async def export_customer(subject: Subject, request_id: str | None) -> DataExport:
    """Gather every registered section into one JSON document; a repeated request replaces it."""
    subject = await resolve(subject)
    document: dict[str, Any] = {"generated_at": utcnow().isoformat(), "request_id": request_id}
    for name, exporter in EXPORTERS.items():
        document[name] = plain(await exporter(subject))
    text = json.dumps(document, default=str, sort_keys=True)
    export, created = await DataExport.get_or_create(
        store_id=subject.store_id,
        request_id=request_id,
        defaults={"document": text, "subject_keys": subject.keys()},
    )
    if not created:
        await DataExport.filter(id=export.id).update(document=text, subject_keys=subject.keys())
        await export.refresh_from_db()
    log.info("data export ready", extra=ctx(store=subject.store_id, export=export.id))
    return export


async def erase_customer(subject: Subject) -> dict[str, int]:
    """Run every eraser in one transaction: a failure leaves nothing half-erased."""
    subject = await resolve(subject)
    counts: dict[str, int] = {}
    async with in_transaction():
        for name, eraser in ERASERS.items():
            counts[name] = await eraser(subject)
    log.info("customer erased", extra=ctx(store=subject.store_id, **counts))
    return counts


async def erase_store(store_id: int) -> dict[str, int]:
    """Delete everything of a store: registered erasers first, then the Store row and its cascade."""
    counts: dict[str, int] = {}
    async with in_transaction():
        for name, eraser in STORE_ERASERS.items():
            counts[name] = await eraser(store_id)
        counts["store"] = await Store.filter(id=store_id).delete()
    log.info("store data deleted", extra=ctx(store=store_id, **counts))
    return counts

"""Shopify lifecycle and privacy topics: app/uninstalled and the three mandatory compliance webhooks.

The handlers are listed in the topic map (`webhooks.TOPICS`), not registered here.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.core import events
from app.core.logging import ctx
from app.core.phones import parse_phone, region_of_locale
from app.core.timeutil import utcnow
from app.ingest.models import RawEvent, RawStatus
from app.ingest.processing import Outcome
from app.messaging.models import DeliveryStatus, Message
from app.privacy import services as privacy
from app.privacy.registry import Subject
from app.stores.models import Store, StoreStatus

log = logging.getLogger(__name__)
# Shopify's clock and ours differ a little; an uninstall this much older than the install is stale.
CLOCK_SKEW = timedelta(seconds=60)


async def uninstalled(store: Store, raw: RawEvent, payload: dict[str, Any]) -> Outcome:
    """Mark uninstalled, drop tokens, cancel unsent messages and announce it, all in one transaction."""
    if raw.triggered_at and raw.triggered_at < store.installed_at - CLOCK_SKEW:
        return Outcome(RawStatus.IGNORED, "uninstall predates the current install (stale retry)")
    now = utcnow()
    async with in_transaction() as conn:
        won = (
            await Store.filter(id=store.id, status=StoreStatus.ACTIVE)
            .using_db(conn)
            .update(
                status=StoreStatus.UNINSTALLED,
                uninstalled_at=now,
                credentials=None,
                credentials_version=F("credentials_version") + 1,
            )
        )
        if not won:
            return Outcome(RawStatus.IGNORED, "store was already uninstalled")
        cancelled = (
            await Message.filter(store_id=store.id, status=DeliveryStatus.PENDING)
            .using_db(conn)
            .update(status=DeliveryStatus.CANCELLED, error_message="store uninstalled")
        )
        # subject = this delivery, so a later re-install and uninstall announces again.
        event_id = await events.record(
            events.STORE_UNINSTALLED, store.id, raw.id, {"uninstalled_at": now.isoformat()}, conn
        )
    log.info("shopify store uninstalled", extra=ctx(store=store.id, cancelled=cancelled))
    return Outcome(RawStatus.PROCESSED, event_ids=[event_id])


def _phones(store: Store, value: object) -> frozenset[str]:
    """The phone as we store it (E.164, parsed like checkout contacts) and as Shopify sent it.

    Rows hold E.164, so a national-format number would match nothing; stored deliveries hold
    the raw text, so the raw form stays in the set for the raw-body search.
    """
    raw = str(value or "").strip()
    if not raw:
        return frozenset()
    e164 = parse_phone(raw, region_of_locale(store.locale)).e164
    return frozenset({raw, e164} if e164 else {raw})


def subject(store: Store, payload: dict[str, Any]) -> Subject:
    """Who a redact or data request names, in the forms our rows and stored deliveries use."""
    customer = payload.get("customer") or {}
    orders = payload.get("orders_to_redact") or payload.get("orders_requested") or []
    email = str(customer.get("email") or "").strip().lower()
    return Subject(
        store_id=store.id,
        emails=frozenset({email} if email else set()),
        phones=_phones(store, customer.get("phone")),
        customer_ids=frozenset({str(customer["id"])} if customer.get("id") else set()),
        order_ids=frozenset(str(o) for o in orders),
    )


async def customers_redact(store: Store, raw: RawEvent, payload: dict[str, Any]) -> Outcome:
    counts = await privacy.erase_customer(subject(store, payload))
    return Outcome(RawStatus.PROCESSED, f"erased: {counts}")


async def customers_data_request(store: Store, raw: RawEvent, payload: dict[str, Any]) -> Outcome:
    request_id = str((payload.get("data_request") or {}).get("id") or f"raw-{raw.id}")
    export = await privacy.export_customer(subject(store, payload), request_id)
    return Outcome(RawStatus.PROCESSED, f"export {export.id} ready")


async def shop_redact(store: Store, raw: RawEvent, payload: dict[str, Any]) -> Outcome:
    """Sent 48 h after uninstall; a shop that came back meanwhile keeps its data."""
    if store.status == StoreStatus.ACTIVE:
        return Outcome(RawStatus.IGNORED, "shop re-installed the app; nothing to redact")
    counts = await privacy.erase_store(store.id)
    return Outcome(RawStatus.PROCESSED, f"deleted: {counts}")

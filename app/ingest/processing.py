"""Turn one stored RawEvent into canonical changes; idempotent, so replays are always safe."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.checkouts import services as checkouts
from app.checkouts.schemas import AliasInput, CheckoutInput, IdentifyInput, Normalized, OrderInput
from app.core.timeutil import utcnow
from app.ingest.models import RawEvent, RawStatus, Source
from app.integrations.collect.normalize import normalize as normalize_collect
from app.integrations.magento import normalize as magento
from app.integrations.shopify import normalize as shopify
from app.integrations.woocommerce import normalize as woo
from app.stores.models import Store

log = logging.getLogger(__name__)


@dataclass(slots=True)
class Outcome:
    status: RawStatus
    note: str | None = None
    abandon_checks: list[tuple[int, Any]] = field(default_factory=list)
    """(checkout id, due time) pairs the caller should schedule."""
    event_ids: list[int] = field(default_factory=list)
    """Outbox events the caller should dispatch."""
    jobs: list[tuple[str, int]] = field(default_factory=list)
    """(job function, checkout id) follow-up jobs the caller should enqueue."""


Normalizer = Callable[[dict[str, Any]], list[Normalized]]
TopicHandler = Callable[[Store, RawEvent, dict[str, Any]], Awaitable[Outcome]]

NORMALIZERS: dict[tuple[Source, str], Normalizer] = {
    (Source.SHOPIFY, "checkouts/create"): lambda p: [shopify.checkout(p)],
    (Source.SHOPIFY, "checkouts/update"): lambda p: [shopify.checkout(p)],
    (Source.SHOPIFY, "checkouts/delete"): lambda p: [shopify.checkout(p, deleted=True)],
    (Source.SHOPIFY, "orders/create"): lambda p: [shopify.order(p)],
    (Source.SHOPIFY, "orders/paid"): lambda p: [shopify.order(p)],
    (Source.WOOCOMMERCE, "order.created"): woo.native_order,
    (Source.WOOCOMMERCE, "order.updated"): woo.native_order,
    (Source.PLUGIN, "cart.updated"): lambda p: [woo.plugin_cart(p)],
    (Source.PLUGIN, "order.placed"): lambda p: [woo.plugin_order(p)],
    **{(Source.MAGENTO, topic): normalizer for topic, normalizer in magento.TOPICS.items()},
}

# Topics that are not checkout data (uninstall, privacy requests); other domains register here.
TOPIC_HANDLERS: dict[tuple[Source, str], TopicHandler] = {}


# Jobs to run after a checkout from a source is stored (Shopify image enrichment, ...).
CHECKOUT_JOBS: dict[Source, list[str]] = {}


def register_checkout_job(source: Source, function: str) -> None:
    if function not in CHECKOUT_JOBS.setdefault(source, []):
        CHECKOUT_JOBS[source].append(function)


def register_topic(source: Source, topic: str) -> Callable[[TopicHandler], TopicHandler]:
    def add(handler: TopicHandler) -> TopicHandler:
        TOPIC_HANDLERS[(source, topic)] = handler
        return handler

    return add


def _normalizer(raw: RawEvent) -> Normalizer | None:
    if raw.source == Source.COLLECT:
        return normalize_collect
    return NORMALIZERS.get((Source(raw.source), raw.topic))


async def process(raw: RawEvent) -> Outcome:
    store = await Store.get(id=raw.store_id)  # type: ignore[attr-defined]
    try:
        payload = json.loads(raw.body, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        return Outcome(RawStatus.FAILED, f"body is not JSON: {exc}")
    if not isinstance(payload, dict):
        return Outcome(RawStatus.FAILED, "body is not a JSON object")
    handler = TOPIC_HANDLERS.get((Source(raw.source), raw.topic))
    if handler:
        return await handler(store, raw, payload)
    normalizer = _normalizer(raw)
    if normalizer is None:
        return Outcome(RawStatus.IGNORED, f"no handler for {raw.source} {raw.topic}")
    try:
        items = normalizer(payload)
    except (ValueError, TypeError, KeyError, AttributeError) as exc:
        return Outcome(RawStatus.FAILED, f"cannot normalize {raw.topic}: {exc}")
    outcome = Outcome(RawStatus.PROCESSED)
    for item in items:
        await _apply(store, raw, item, outcome)
    return outcome


async def _apply(store: Store, raw: RawEvent, item: Normalized, outcome: Outcome) -> None:
    if isinstance(item, CheckoutInput):
        if item.updated_at is None and raw.triggered_at is not None:
            item.updated_at = raw.triggered_at
        checkout = await checkouts.upsert_checkout(store, item, raw.received_at)
        if checkout.abandon_due_at is not None:
            outcome.abandon_checks.append((checkout.id, checkout.abandon_due_at))
        outcome.jobs.extend((fn, checkout.id) for fn in CHECKOUT_JOBS.get(Source(raw.source), ()))
    elif isinstance(item, OrderInput):
        _, transition = await checkouts.record_order(store, item)
        if transition and transition.event_id:
            outcome.event_ids.append(transition.event_id)
    elif isinstance(item, IdentifyInput):
        await checkouts.identify(store, item)
    elif isinstance(item, AliasInput):
        await checkouts.alias(store, item)


async def finish(raw: RawEvent, outcome: Outcome) -> None:
    await RawEvent.filter(id=raw.id).update(
        status=outcome.status, error=outcome.note, processed_at=utcnow(), attempts=raw.attempts + 1
    )

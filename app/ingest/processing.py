"""Turn one stored RawEvent into canonical changes; idempotent, so replays are always safe."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from app.checkouts import services as checkouts
from app.checkouts.schemas import (
    AliasInput,
    CheckoutInput,
    ExitInput,
    IdentifyInput,
    Normalized,
    OrderInput,
)
from app.core.timeutil import utcnow
from app.ingest.models import RawEvent, RawStatus, Source
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


Normalizer = Callable[[dict[str, Any]], Sequence[Normalized]]
TopicHandler = Callable[[Store, RawEvent, dict[str, Any]], Awaitable[Outcome]]


@dataclass(frozen=True, slots=True)
class Topics:
    """One source's topic map, declared by its vendor package and registered at startup.

    A topic is either checkout data (`normalize`: payload to canonical inputs) or something
    else a handler deals with (`handle`: uninstall, privacy requests). `any_topic` reads every
    topic of a source with one normalizer (Segment-spec events name their type in the body).
    """

    source: Source
    normalize: Mapping[str, Normalizer] = field(default_factory=dict)
    handle: Mapping[str, TopicHandler] = field(default_factory=dict)
    any_topic: Normalizer | None = None
    orders: frozenset[str] = frozenset()
    """Topics whose delivery may carry a placed order: its keys are kept at capture."""
    checkout_jobs: tuple[str, ...] = ()
    """Jobs to run after a checkout from this source is stored (Shopify image enrichment, ...)."""

    @property
    def known(self) -> frozenset[str]:
        return frozenset(self.normalize) | frozenset(self.handle)

    def normalizer(self, topic: str) -> Normalizer | None:
        return self.normalize.get(topic) or self.any_topic


_SOURCES: dict[Source, Topics] = {}


def register(topics: Topics) -> None:
    """Called by the composition root (app.wiring), never at import; registering again replaces."""
    _SOURCES[topics.source] = topics


def topics_for(source: Source | str) -> Topics:
    return _SOURCES.get(Source(source)) or Topics(Source(source))


async def process(raw: RawEvent) -> Outcome:
    store = await Store.get(id=raw.store_id)
    try:
        payload = json.loads(raw.body, parse_float=Decimal)
    except json.JSONDecodeError as exc:
        return Outcome(RawStatus.FAILED, f"body is not JSON: {exc}")
    if not isinstance(payload, dict):
        return Outcome(RawStatus.FAILED, "body is not a JSON object")
    topics = topics_for(raw.source)
    handler = topics.handle.get(raw.topic)
    if handler:
        return await handler(store, raw, payload)
    normalizer = topics.normalizer(raw.topic)
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
        outcome.jobs.extend((fn, checkout.id) for fn in topics_for(raw.source).checkout_jobs)
    elif isinstance(item, OrderInput):
        recorded = await checkouts.record_order(store, item)
        outcome.event_ids.extend(recorded.event_ids)
    elif isinstance(item, IdentifyInput):
        await checkouts.identify(store, item)
    elif isinstance(item, AliasInput):
        await checkouts.alias(store, item)
    elif isinstance(item, ExitInput):
        exited = await checkouts.record_exit(store, item, raw.received_at)
        if exited is not None and exited.abandon_due_at is not None:
            outcome.abandon_checks.append((exited.id, exited.abandon_due_at))


async def finish(raw: RawEvent, outcome: Outcome) -> None:
    await RawEvent.filter(id=raw.id).update(
        status=outcome.status, error=outcome.note, processed_at=utcnow(), attempts=raw.attempts + 1
    )

"""Store a verified delivery durably and exactly once, then hand it to the worker."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from arq.connections import ArqRedis
from tortoise.exceptions import IntegrityError

from app.core.logging import ctx
from app.core.scheduling import enqueue
from app.ingest.models import RawEvent, Source
from app.stores.models import Store

log = logging.getLogger(__name__)

PROCESS_JOB = "process_raw_event"


@dataclass(frozen=True, slots=True)
class Delivery:
    """A verified inbound delivery, in our terms; adapters build it from vendor headers."""

    source: Source
    topic: str
    delivery_id: str
    body: bytes
    headers: dict[str, str]
    event_id: str | None = None
    triggered_at: datetime | None = None


async def accept(store: Store, delivery: Delivery, queue: ArqRedis | None) -> RawEvent | None:
    """Persist then enqueue; None means a duplicate that was already accepted.

    The row is committed before we answer, so a lost Redis job is found again by the sweep.
    """
    try:
        event = await RawEvent.create(
            store=store,
            source=delivery.source,
            topic=delivery.topic[:64],
            delivery_id=delivery.delivery_id[:128],
            event_id=(delivery.event_id or None) and delivery.event_id[:128],
            triggered_at=delivery.triggered_at,
            headers=delivery.headers,
            body=delivery.body.decode("utf-8", errors="replace"),
        )
    except IntegrityError:
        log.info(
            "duplicate delivery ignored", extra=ctx(store=store.id, delivery=delivery.delivery_id)
        )
        return None
    await enqueue_processing(queue, event.id)
    return event


async def enqueue_processing(queue: ArqRedis | None, event_id: int) -> bool:
    """Redis down is fine here: the row is committed and the sweep enqueues it again."""
    return await enqueue(queue, PROCESS_JOB, event_id, job_id=f"raw:{event_id}")

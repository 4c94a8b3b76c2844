"""Store a verified delivery durably and exactly once, then nudge the worker to drain.

The acknowledgement path is the one Shopify, WooCommerce and browsers wait on, so it does the
least that is safe: one insert that also deduplicates (ON CONFLICT DO NOTHING), and at most one
queue write per process every NUDGE_MS. The worker's drain job claims pending rows itself, so a
lost nudge only delays processing until the next nudge or the sweep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from tortoise import connections
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.core.db import is_postgres
from app.core.errors import ApiError
from app.core.logging import ctx
from app.core.phones import region_of_locale
from app.core.scheduling import enqueue
from app.core.timeutil import utcnow
from app.ingest.models import OrderSeen, RawEvent, RawStatus, Source
from app.ingest.seen import SeenOrder, seen_order
from app.stores.models import Store

log = logging.getLogger(__name__)

DRAIN_JOB = "drain_raw_events"
NUDGE_MS = 50
NUDGE_MARGIN = timedelta(milliseconds=250)  # covers clock skew between web and worker hosts
CLAIM_FOR = timedelta(seconds=120)

# Any of the three unique keys (delivery id, signed-content fingerprint, platform event id) makes
# a delivery a duplicate, so the conflict names no one target.
_INSERT = (
    'INSERT INTO "raw_event" (store_id, source, topic, delivery_id, event_id, fingerprint,'
    " triggered_at, headers, body, status, attempts, received_at)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, 0, $11)"
    " ON CONFLICT DO NOTHING RETURNING id"
)


# An order's keys go in with its raw event, in the same statement (see app.ingest.seen).
_INSERT_ORDER = (
    f"WITH r AS ({_INSERT}), s AS (INSERT INTO order_seen (store_id, raw_event_id,"
    " checkout_token, cart_token, email_digest, phone_digest, seen_at)"
    " SELECT $1, id, $12, $13, $14, $15, $11 FROM r) SELECT id FROM r"
)


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
    fingerprint: str | None = None
    """sha256 of what the sender signed; None for unsigned sources (their ids are all we have)."""


def require_json(body: bytes) -> Any:
    """Every capture route stores JSON only: anything else is refused before it is stored."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None


def fingerprint(*signed: bytes) -> str:
    """The identity of signed content: what a replay under a fresh delivery id cannot change."""
    digest = hashlib.sha256()
    for part in signed:
        digest.update(len(part).to_bytes(8, "big") + part)  # length-prefixed: no ambiguous joins
    return digest.hexdigest()


async def accept(store: Store, delivery: Delivery, queue: ArqRedis | None) -> int | None:
    """Persist, then nudge the worker; None means a duplicate that was already accepted.

    The row is committed before we answer, so nothing acknowledged can be lost with Redis.
    """
    seen = seen_order(
        delivery.source, delivery.topic, delivery.body, region_of_locale(store.locale)
    )
    event_id = await _insert(store.id, delivery, seen)
    if event_id is None:
        log.info(
            "duplicate delivery ignored", extra=ctx(store=store.id, delivery=delivery.delivery_id)
        )
        return None
    await nudge(queue)
    return event_id


async def _insert(store_id: int, delivery: Delivery, seen: SeenOrder | None = None) -> int | None:
    values = (
        store_id,
        str(delivery.source),
        delivery.topic[:64],
        delivery.delivery_id[:128],
        delivery.event_id[:128] if delivery.event_id else None,
        delivery.fingerprint,
        delivery.triggered_at,
    )
    body = delivery.body.decode("utf-8", errors="replace")
    if is_postgres():
        params = [*values, json.dumps(delivery.headers), body, str(RawStatus.PENDING), utcnow()]
        if seen is not None:
            params += [seen.checkout_token, seen.cart_token, seen.email_digest, seen.phone_digest]
        sql = _INSERT if seen is None else _INSERT_ORDER
        rows = await connections.get("default").execute_query_dict(sql, params)
        return int(rows[0]["id"]) if rows else None
    try:  # SQLite (embedded): the ORM keeps its own datetime encoding consistent
        async with in_transaction() as conn:
            event = await RawEvent.create(
                using_db=conn,
                store_id=store_id,
                source=delivery.source,
                topic=values[2],
                delivery_id=values[3],
                event_id=values[4],
                fingerprint=delivery.fingerprint,
                triggered_at=delivery.triggered_at,
                headers=delivery.headers,
                body=body,
            )
            if seen is not None:
                await OrderSeen.create(
                    using_db=conn,
                    store_id=store_id,
                    raw_event_id=event.id,
                    seen_at=utcnow(),
                    **asdict(seen),
                )
    except IntegrityError:
        return None
    return event.id


_nudged_bucket: int | None = None


async def nudge(queue: ArqRedis | None, *, force: bool = False) -> bool:
    """Ask for a drain at the end of the current NUDGE_MS bucket, once per bucket per process.

    The job id is the bucket, so all processes share one drain per bucket; it runs after the
    bucket closes, hence after every insert that computed this bucket post-commit. The sweep
    forces a nudge: it exists precisely because an earlier one may have been lost.
    """
    global _nudged_bucket
    bucket = int(time.time() * 1000) // NUDGE_MS
    if bucket == _nudged_bucket and not force:
        return False
    _nudged_bucket = bucket
    run_at = datetime.fromtimestamp((bucket + 1) * NUDGE_MS / 1000, UTC) + NUDGE_MARGIN
    return await enqueue(queue, DRAIN_JOB, job_id=f"raw-drain:{bucket}", defer_until=run_at)


async def claim_pending(limit: int) -> list[RawEvent]:
    """Lock a batch of pending deliveries for this worker; others skip them (SKIP LOCKED).

    The rows themselves come back: they were read under the lock, so processing needs no re-read.
    SKIP LOCKED is PostgreSQL's. On SQLite a process runs its transactions one at a time on its one
    connection, and the file takes one writer at a time, so claims never overlap; they wait instead.
    """
    now = utcnow()
    async with in_transaction() as conn:
        query = (
            RawEvent.filter(
                Q(locked_until__isnull=True) | Q(locked_until__lt=now), status=RawStatus.PENDING
            )
            .order_by("id")
            .limit(limit)
            .using_db(conn)
        )
        if is_postgres():
            query = query.select_for_update(skip_locked=True)
        rows = list(await query)
        if rows:
            await (
                RawEvent.filter(id__in=[r.id for r in rows])
                .using_db(conn)
                .update(locked_until=now + CLAIM_FOR)
            )
    return rows

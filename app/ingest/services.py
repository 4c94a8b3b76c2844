"""Store a verified delivery durably and exactly once, then nudge the worker to drain.

The acknowledgement path is the one Shopify, WooCommerce and browsers wait on, so it does the
least that is safe: one insert that also deduplicates (ON CONFLICT DO NOTHING), shared with the
deliveries that arrive at the same moment (group commit, app.core.groupcommit), and at most one
queue write per process every NUDGE_MS. The worker's drain job claims pending rows itself, so a
lost nudge only delays processing until the next nudge or the sweep.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
from arq.connections import ArqRedis
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.core.db import is_postgres
from app.core.errors import ApiError
from app.core.groupcommit import BatchFailed, PerLoop
from app.core.logging import ctx
from app.core.scheduling import enqueue
from app.core.timeutil import utcnow
from app.ingest.models import RawEvent, RawStatus, Source
from app.ingest.seen import SeenOrder, seen_order
from app.ingest.storage import RawRow, write_postgres, write_sqlite
from app.stores.models import Store

log = logging.getLogger(__name__)

DRAIN_JOB = "drain_raw_events"
NUDGE_MS = 50
NUDGE_MARGIN = timedelta(milliseconds=250)  # covers clock skew between web and worker hosts
CLAIM_FOR = timedelta(seconds=120)
_decode = msgspec.json.Decoder().decode
_skim = msgspec.json.Decoder(msgspec.Raw).decode  # checks the syntax, builds nothing
_encode = msgspec.json.Encoder().encode


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
    """Every capture route stores JSON only: anything else is refused before it is stored.

    msgspec reads valid JSON several times faster than the standard library; whatever it refuses
    is read again by the standard library, so what is accepted (NaN, a BOM, UTF-16, lone
    surrogates) and every error message stay exactly as they were."""
    try:
        return _decode(body)
    except msgspec.DecodeError:
        pass
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None


def check_json(body: bytes) -> None:
    """`require_json` for a route that stores the body but does not read it: same answers.

    msgspec checks the syntax without building the document (about 5x faster on Shopify's
    checkout sample) but does not look inside strings, so the text must also be UTF-8, as a full
    read requires. Whatever the quick check refuses is judged by `require_json` itself, which
    accepts what the standard library accepts (a lone surrogate escape, a BOM, UTF-16)."""
    try:
        _skim(body)
        body.decode("utf-8")
    except (msgspec.DecodeError, UnicodeDecodeError):
        require_json(body)


def fingerprint(*signed: bytes) -> str:
    """The identity of signed content: what a replay under a fresh delivery id cannot change."""
    digest = hashlib.sha256()
    for part in signed:
        digest.update(len(part).to_bytes(8, "big") + part)  # length-prefixed: no ambiguous joins
    return digest.hexdigest()


async def accept(
    store: Store, delivery: Delivery, queue: ArqRedis | None, payload: Any = None
) -> int | None:
    """Persist, then nudge the worker; None means a duplicate that was already accepted.

    The row is committed (with the other deliveries of its batch, app.core.groupcommit) before we
    answer, so nothing acknowledged can be lost with Redis. `payload` is the body already read
    by require_json, so an order's keys are read without parsing it again.
    """
    seen = seen_order(delivery.source, delivery.topic, delivery.body, store.locale, payload)
    try:
        event_id = await _batchers.submit(_row(store.id, delivery, seen))
    except BatchFailed:
        raise ApiError(
            503,
            "not_stored",
            "the delivery could not be stored: send it again",
            headers={"Retry-After": "1"},
        ) from None
    if event_id is None:
        if log.isEnabledFor(logging.INFO):
            log.info(
                "duplicate delivery ignored",
                extra=ctx(store=store.id, delivery=delivery.delivery_id),
            )
        return None
    await nudge(queue)
    return event_id


def _row(store_id: int, delivery: Delivery, seen: SeenOrder | None) -> RawRow:
    return RawRow(
        store_id=store_id,
        source=str(delivery.source),
        topic=delivery.topic[:64],
        delivery_id=delivery.delivery_id[:128],
        event_id=delivery.event_id[:128] if delivery.event_id else None,
        fingerprint=delivery.fingerprint,
        triggered_at=delivery.triggered_at,
        headers=_encode(delivery.headers).decode(),
        body=delivery.body.decode("utf-8", errors="replace"),
        seen=seen,
    )


async def _write(rows: Sequence[RawRow]) -> list[int | None]:
    """In key order, so two processes' batches that share deliveries (a platform's retry reaching
    both) take their row locks in the same order and wait for each other instead of deadlocking."""
    order = sorted(range(len(rows)), key=lambda i: rows[i].identity[:4])
    ordered = [rows[i] for i in order]
    ids = await (write_postgres(ordered) if is_postgres() else write_sqlite(ordered))
    results: list[int | None] = [None] * len(rows)
    for position, index in enumerate(order):
        results[index] = ids[position]
    return results


# One batcher per event loop (a web process has one): rows of concurrent requests share commits.
_batchers: PerLoop[RawRow, int | None] = PerLoop(_write)

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

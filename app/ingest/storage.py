"""The capture path's durable write: a batch of verified deliveries in one deduplicating insert.

One statement per batch, `INSERT … ON CONFLICT DO NOTHING … RETURNING`, in one transaction: rows
that hit any of raw_event's three unique keys (delivery id, signed-content fingerprint, platform
event id; against stored rows or earlier rows of the same batch) are skipped, exactly as one
insert each would have skipped them. An order's keys (app.ingest.seen) go into order_seen in the
same transaction, for the rows that were stored. PostgreSQL gets the batch as arrays (one
prepared statement whatever the batch size); SQLite as a multi-row VALUES.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise import connections
from tortoise.transactions import in_transaction

from app.core.timeutil import utcnow
from app.ingest.models import RawStatus
from app.ingest.seen import SeenOrder

_COLUMNS = (
    "store_id, source, topic, delivery_id, event_id, fingerprint, triggered_at, headers, body,"
    " status, attempts, received_at"
)
# What identifies a stored row among the batch's inputs: two inputs equal on all of it are one delivery.
_IDENTITY = ("store_id", "source", "topic", "delivery_id", "event_id", "fingerprint")
_SEEN_COLUMNS = (
    "store_id, raw_event_id, checkout_token, cart_token, email_digest, phone_digest, seen_at"
)

_POSTGRES = f"""
WITH r AS (
  INSERT INTO raw_event ({_COLUMNS})
  SELECT d.store_id, d.source, d.topic, d.delivery_id, d.event_id, d.fingerprint, d.triggered_at,
         d.headers::jsonb, d.body, $10, 0, $11
  FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],
              $7::timestamptz[], $8::text[], $9::text[])
       AS d(store_id, source, topic, delivery_id, event_id, fingerprint, triggered_at, headers, body)
  ON CONFLICT DO NOTHING
  RETURNING {", ".join(("id", *_IDENTITY))}
), s AS (
  INSERT INTO order_seen ({_SEEN_COLUMNS})
  SELECT r.store_id, r.id, k.checkout_token, k.cart_token, k.email_digest, k.phone_digest, $11
  FROM r JOIN unnest($12::bigint[], $13::text[], $14::text[], $15::text[], $16::text[],
                     $17::text[], $18::text[], $19::text[], $20::text[], $21::text[])
       AS k(store_id, source, topic, delivery_id, event_id, fingerprint,
            checkout_token, cart_token, email_digest, phone_digest)
    ON k.store_id = r.store_id AND k.source = r.source AND k.topic = r.topic
       AND k.delivery_id = r.delivery_id AND k.event_id IS NOT DISTINCT FROM r.event_id
       AND k.fingerprint IS NOT DISTINCT FROM r.fingerprint
)
SELECT {", ".join(("id", *_IDENTITY))} FROM r
"""


@dataclass(frozen=True, slots=True)
class RawRow:
    """One verified delivery as it is stored; `headers` is already JSON text."""

    store_id: int
    source: str
    topic: str
    delivery_id: str
    event_id: str | None
    fingerprint: str | None
    triggered_at: datetime | None
    headers: str
    body: str
    seen: SeenOrder | None = None

    @property
    def identity(self) -> tuple[Any, ...]:
        return (
            self.store_id,
            self.source,
            self.topic,
            self.delivery_id,
            self.event_id,
            self.fingerprint,
        )


def _matched(rows: Sequence[RawRow], stored: list[dict[str, Any]]) -> list[int | None]:
    """Each input's new id, or None when it was a duplicate. Of inputs identical on every key
    only one can have been stored; the first of them is told so, the others are duplicates."""
    ids = {tuple(r[c] for c in _IDENTITY): int(r["id"]) for r in stored}
    return [ids.pop(row.identity, None) for row in rows]


def _orders(rows: Sequence[RawRow]) -> list[RawRow]:
    """The rows carrying an order's keys, one per identity (the one that would be stored)."""
    found: dict[tuple[Any, ...], RawRow] = {}
    for row in rows:
        if row.seen is not None:
            found.setdefault(row.identity, row)
    return list(found.values())


def _columns(rows: Sequence[RawRow], *names: str) -> list[list[Any]]:
    return [[getattr(row, name) for row in rows] for name in names]


def _seen_columns(rows: Sequence[RawRow]) -> list[list[Any]]:
    seen = [row.seen for row in rows if row.seen is not None]
    return [
        [s.checkout_token for s in seen],
        [s.cart_token for s in seen],
        [s.email_digest for s in seen],
        [s.phone_digest for s in seen],
    ]


async def write_postgres(rows: Sequence[RawRow]) -> list[int | None]:
    """The whole batch in one statement, hence one transaction and one commit."""
    orders = _orders(rows)
    params = [
        *_columns(rows, *_IDENTITY, "triggered_at", "headers", "body"),
        str(RawStatus.PENDING),
        utcnow(),
        *_columns(orders, *_IDENTITY),
        *_seen_columns(orders),
    ]
    stored = await connections.get("default").execute_query_dict(_POSTGRES, params)
    return _matched(rows, stored)


async def write_sqlite(rows: Sequence[RawRow]) -> list[int | None]:
    """The same batch as one multi-row insert and its order keys, in one transaction."""
    now = utcnow()
    values = ",".join(["(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 0, ?)"] * len(rows))
    params: list[Any] = []
    for row in rows:
        params += [*row.identity, row.triggered_at, row.headers, row.body]
        params += [str(RawStatus.PENDING), now]
    returning = ", ".join(("id", *_IDENTITY))
    async with in_transaction() as conn:
        stored = await conn.execute_query_dict(
            f"INSERT INTO raw_event ({_COLUMNS}) VALUES {values}"
            f" ON CONFLICT DO NOTHING RETURNING {returning}",
            params,
        )
        ids = _matched(rows, stored)
        seen = [
            (row.seen, i, row.store_id) for row, i in zip(rows, ids, strict=True) if i and row.seen
        ]
        if seen:
            await conn.execute_query(
                f"INSERT INTO order_seen ({_SEEN_COLUMNS}) VALUES "
                + ",".join(["(?, ?, ?, ?, ?, ?, ?)"] * len(seen)),
                [
                    value
                    for keys, raw_id, store_id in seen
                    for value in (
                        store_id,
                        raw_id,
                        keys.checkout_token,
                        keys.cart_token,
                        keys.email_digest,
                        keys.phone_digest,
                        now,
                    )
                ],
            )
    return ids

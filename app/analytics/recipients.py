"""Who received a flow's messages: one row per automated send, with the click and the orders after it.

Keyed on the enrollment's flow and the message's step (never the checkout), scoped to the store,
paged by message id (newest first) so a page never shifts while new sends arrive.
"""

from __future__ import annotations

import base64
import binascii
from collections import defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.analytics import attribution, raw, rules, sql
from app.analytics.period import Range
from app.analytics.schemas import RecipientRow
from app.core.errors import ApiError
from app.core.money import quantize
from app.stores.models import Store

ZERO = Decimal(0)
MAX_PAGE = 500
CSV_PAGE = 500


@dataclass(frozen=True, slots=True)
class Query:
    """A page of one flow's recipients: the range, optionally one step (0-based), after a cursor."""

    flow_id: int
    rng: Range
    step_index: int | None = None
    before_id: int | None = None
    limit: int = 50


def encode_cursor(message_id: int) -> str:
    return base64.urlsafe_b64encode(f"m{message_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str | None) -> int | None:
    """The opaque cursor back to a message id; 400 when it was not one of ours."""
    if not cursor:
        return None
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        if text[:1] == "m" and text[1:].isdigit():
            return int(text[1:])
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(400, "invalid_cursor", "cursor: not a cursor this list gave out")


async def _sends(store: Store, q: Query) -> list[dict[str, Any]]:
    start, end = q.rng.utc
    extra, args = "", [store.id, q.flow_id, start, end]
    if q.step_index is not None:
        args.append(q.step_index)
        extra += f" AND m.step_index = ${len(args)}"
    if q.before_id is not None:
        args.append(q.before_id)
        extra += f" AND m.id < ${len(args)}"
    if q.rng.channel:
        args.append(q.rng.channel)
        extra += f" AND m.channel = ${len(args)}"
    args.append(q.limit + 1)
    return await sql.rows(
        f"""SELECT m.id, m.contact_id, m.checkout_id, m.channel, m.step_index, m.variant,
          m.status, m.to_address, m.created_at, m.sent_at, m.delivered_at,
          ct.first_name, ct.last_name,
          (SELECT count(*) FROM recovery_click k WHERE k.message_id = m.id) AS clicks
        FROM message m JOIN recovery_enrollment e ON e.id = m.enrollment_id
        LEFT JOIN contact ct ON ct.id = m.contact_id
        WHERE m.store_id = $1 AND e.flow_id = $2 AND {raw.AUTOMATION}
          AND m.created_at >= $3 AND m.created_at < $4 AND m.status NOT IN {raw.NOT_SENT}{extra}
        ORDER BY m.id DESC LIMIT ${len(args)}""",
        *args,
    )


async def _orders(store: Store, sends: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The orders of these recipients placed after the earliest send, by shopper key."""
    contacts = sorted({int(s["contact_id"]) for s in sends if s["contact_id"] is not None})
    checkouts = sorted({int(s["checkout_id"]) for s in sends if s["checkout_id"] is not None})
    times = [s["sent_at"] or s["created_at"] for s in sends]
    if not times or not (contacts or checkouts):
        return {}
    ids = " OR ".join(
        f"o.{col} IN ({', '.join(str(i) for i in found)})"
        for col, found in (("contact_id", contacts), ("checkout_id", checkouts))
        if found
    )
    found = await sql.rows(
        f"""SELECT o.id, o.contact_id, o.checkout_id, o.placed_at, o.total, o.currency,
          o.presentment_total, o.presentment_currency, o.financial_status, o.placed
        FROM "order" o WHERE o.store_id = $1 AND o.placed_at >= $2 AND ({ids})""",
        store.id,
        min(times),
    )
    by_key: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for order in found:
        for key in rules.shopper_keys(order["contact_id"], order["checkout_id"]):
            by_key[key].append(order)
    return by_key


def _row(
    store: Store,
    send: dict[str, Any],
    orders: dict[str, list[dict[str, Any]]],
    rates: dict[str, Decimal],
    windows: rules.Windows,
) -> RecipientRow:
    """Bought: a counted order of the same shopper after the send, within its channel's window."""
    at: datetime | None = send["sent_at"]
    seen: dict[int, dict[str, Any]] = {}
    for key in rules.shopper_keys(send["contact_id"], send["checkout_id"]):
        for order in orders.get(key, ()):
            counted = rules.order_counts(bool(order["placed"]), order["financial_status"])
            window = windows.for_channel(send["channel"])
            if at is not None and counted and rules.within(at, order["placed_at"], window):
                seen[order["id"]] = order
    amount = sum((attribution.order_worth(o, store, rates) or ZERO for o in seen.values()), ZERO)
    name = " ".join(p for p in (send["first_name"], send["last_name"]) if p)
    return RecipientRow(
        message_id=send["id"],
        step=send["step_index"] + 1 if send["step_index"] is not None else None,
        channel=send["channel"],
        variant=send["variant"],
        name=name or None,
        to=send["to_address"],
        status=send["status"],
        sent_at=send["sent_at"],
        delivered_at=send["delivered_at"],
        clicked=int(send["clicks"]) > 0,
        ordered=len(seen),
        revenue=quantize(amount, store.currency),
        currency=store.currency,
    )


async def page(store: Store, q: Query) -> tuple[list[RecipientRow], str | None]:
    """One page and the cursor of the next (None on the last page)."""
    sends = await _sends(store, q)
    more = len(sends) > q.limit
    sends = sends[: q.limit]
    orders = await _orders(store, sends)
    rates = await attribution.platform_rates(store)
    windows = attribution.windows_of(store)
    rows = [_row(store, s, orders, rates, windows) for s in sends]
    return rows, encode_cursor(sends[-1]["id"]) if more and sends else None


async def every(store: Store, q: Query) -> AsyncIterator[list[RecipientRow]]:
    """Every page in turn, for the CSV download: memory stays one page whatever the flow's size."""
    before = q.before_id
    while True:
        rows, cursor = await page(store, Query(q.flow_id, q.rng, q.step_index, before, CSV_PAGE))
        yield rows
        if cursor is None:
            return
        before = decode_cursor(cursor)

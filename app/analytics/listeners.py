"""Reactions that keep the rollups honest: every change to the facts behind a day marks it dirty."""

from __future__ import annotations

from typing import Any

from app.analytics import attribution, changes, sql
from app.core.outbox import OutboxEvent
from app.core.timeutil import parse_datetime
from app.messaging.models import Direction
from app.stores.services import recent_store


async def checkout_changed(event: OutboxEvent) -> None:
    await changes.checkout_changed(event.store_id, event.subject_id)


async def enrollment_stopped(event: OutboxEvent) -> None:
    """A cart replaced by a newer one on another device leaves the abandoned count: its day."""
    checkout_id = event.payload.get("checkout_id")
    if event.payload.get("reason") == "replaced_by_newer_cart" and checkout_id:
        await changes.checkout_changed(event.store_id, int(checkout_id))


async def contact_changed(event: OutboxEvent) -> None:
    await changes.contact_changed(event.store_id, event.subject_id)


async def order_recorded(event: OutboxEvent) -> None:
    """The order's day, and with its checkout every day that checkout touches: the checkout's
    own day counts the order for the holdout lift of its flow entries (an order paid, refunded
    or cancelled days later changes whether that entry won). And the day its claims were rolled up
    under, if its time moved to another day: that day still counts it until rebuilt."""
    found = await sql.rows(
        """SELECT o.checkout_id, a.placed_at AS claimed_at FROM "order" o
        LEFT JOIN analytics_order a ON a.order_id = o.id WHERE o.id = $1""",
        event.subject_id,
    )
    checkout_id = found[0]["checkout_id"] if found else None
    claimed = found[0]["claimed_at"] if found else None
    placed_at = parse_datetime(event.payload.get("placed_at"))
    await changes.mark(event.store_id, [placed_at, claimed], checkout_id)


async def shopper_replied(event: OutboxEvent) -> None:
    """The reply's day, and the day of the automated send it is credited to (the latest before it:
    its flow step's `replied` count)."""
    found = await sql.rows(
        """SELECT r.created_at, (SELECT max(m.created_at) FROM message m
            WHERE m.store_id = r.store_id AND m.contact_id = r.contact_id
              AND m.direction = 'outbound' AND m.author = 'automation'
              AND m.sent_at <= r.created_at) AS sent_at
        FROM message r WHERE r.id = $1""",
        event.subject_id,
    )
    await changes.mark(event.store_id, [r[k] for r in found for k in ("created_at", "sent_at")])


async def message_changed(message: Any, **_held: Any) -> None:
    """The send's day, the days of orders it may claim, and its checkout (first contact)."""
    if message.direction == Direction.INBOUND:  # a reply: `shopper_replied` marks its day
        return
    # Every send and delivery callback notifies: windows edited two seconds ago are harmless here.
    store = await recent_store(message.store_id)
    if store is None:
        return
    windows = attribution.windows_of(store)
    touched = message.delivered_at or message.sent_at or message.created_at
    last = max(touched, message.created_at) + windows.longest
    await changes.mark(store.id, changes.span(message.created_at, last), message.checkout_id)


# Inside `events.batched()`, the marks of many changes are written together.
gathered_marks = changes.GATHERED.scope

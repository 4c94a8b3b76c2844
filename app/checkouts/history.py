"""Customer history: each contact's orders summed up (count, spend, first and last order, birthday,
subscription), rebuilt from the order rows so replays and out-of-order events change nothing."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tortoise.exceptions import IntegrityError

from app.checkouts import rules
from app.checkouts.models import Contact, ContactHistory, Order
from app.core.timeutil import utcnow
from app.stores.models import Store

REBUILD_PAGE = 500  # contacts read (with their orders) per round trip during a rebuild


@dataclass(frozen=True, slots=True)
class Summary:
    """A contact's confirmed orders reduced to what triggers and segments read."""

    orders_count: int
    total_spent: Decimal
    first_order_at: datetime | None
    last_order_at: datetime | None


def summarize(
    orders: Iterable[tuple[bool, str | None, Decimal, str, datetime]], currency: str
) -> Summary:
    """Pure: count confirmed orders; add up those in the store's currency, exactly, as Decimal.

    An order in another currency still counts as an order but not as spend: the store's own
    currency is the only one a threshold such as "spent 500.00" can be compared in.
    """
    count, spent, times = 0, Decimal(0), []
    for placed, financial_status, total, order_currency, placed_at in orders:
        if not rules.is_confirmed(placed, financial_status):
            continue
        count += 1
        times.append(placed_at)
        if order_currency.upper() == currency.upper():
            spent += Decimal(total)
    return Summary(count, spent, min(times, default=None), max(times, default=None))


def zone_of(contact: Contact, store: Store) -> str:
    """The shopper's own zone when we know a valid one, else the store's, else UTC."""
    for name in (contact.timezone, store.timezone):
        if not name:
            continue
        try:
            ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
        return name
    return "UTC"


def _subscribed(contact: Contact) -> bool:
    email = contact.email_consent and not contact.email_opted_out_at
    sms = contact.sms_consent and not contact.sms_opted_out_at
    return bool(email or sms)


async def refresh(contact_id: int, now: datetime | None = None) -> ContactHistory | None:
    """Recompute one contact's history from their orders; safe to run any number of times."""
    contact = await Contact.get_or_none(id=contact_id)
    if contact is None:
        return None
    store = await Store.get(id=contact.store_id)
    orders = await _orders_of([contact.id])
    return await _save(store, contact, orders.get(contact.id, []), now or utcnow())


async def refresh_for_order(order_id: int) -> ContactHistory | None:
    """After an order event: the order's contact, if it has one."""
    order = await Order.get_or_none(id=order_id)
    return await refresh(order.contact_id) if order and order.contact_id else None


OrderFacts = tuple[bool, str | None, Decimal, str, datetime]


async def _orders_of(contact_ids: list[int]) -> dict[int, list[OrderFacts]]:
    rows = await Order.filter(contact_id__in=contact_ids).values_list(
        "contact_id", "placed", "financial_status", "total", "currency", "placed_at"
    )
    found: dict[int, list[OrderFacts]] = defaultdict(list)
    for contact_id, *facts in rows:
        placed, status, total, currency, placed_at = facts
        found[contact_id].append((placed, status, Decimal(total), currency, placed_at))
    return found


async def _save(
    store: Store, contact: Contact, orders: list[OrderFacts], now: datetime
) -> ContactHistory:
    summary = summarize(orders, store.currency)
    values: dict[str, Any] = {
        "orders_count": summary.orders_count,
        "total_spent": summary.total_spent,
        "currency": store.currency,
        "first_order_at": summary.first_order_at,
        "last_order_at": summary.last_order_at,
        "subscribed": _subscribed(contact),
        "birthday": contact.birthday,
    }
    current = await ContactHistory.get_or_none(contact_id=contact.id)
    # The worker moves birthday_due_at on a year once it has acted; only a new birthday resets it.
    if current is None or current.birthday != contact.birthday or current.birthday_due_at is None:
        values["birthday_due_at"] = rules.next_birthday_due(
            contact.birthday, zone_of(contact, store), now
        )
    if current is None:
        try:
            return await ContactHistory.create(store_id=store.id, contact_id=contact.id, **values)
        except IntegrityError:  # a concurrent refresh created it first: update that row instead
            pass
    await ContactHistory.filter(contact_id=contact.id).update(**values)
    return await ContactHistory.get(contact_id=contact.id)


async def rebuild(
    store_id: int | None = None,
    progress: Callable[[int, int], None] | None = None,
    now: datetime | None = None,
) -> int:
    """Backfill: every contact's history (of one store, or all), a page at a time, in id order."""
    now = now or utcnow()
    query = Contact.all() if store_id is None else Contact.filter(store_id=store_id)
    total, done, after = await query.count(), 0, 0
    stores: dict[int, Store] = {}
    while True:
        page = await query.filter(id__gt=after).order_by("id").limit(REBUILD_PAGE)
        if not page:
            return done
        orders = await _orders_of([c.id for c in page])
        for contact in page:
            if contact.store_id not in stores:
                stores[contact.store_id] = await Store.get(id=contact.store_id)
            await _save(stores[contact.store_id], contact, orders.get(contact.id, []), now)
        done, after = done + len(page), page[-1].id
        if progress:
            progress(done, total)


DUE_COLUMNS = frozenset({"last_order_at", "first_order_at", "birthday_due_at"})


async def due_contacts(
    store_id: int, column: str, after: datetime, upto: datetime, limit: int | None = None
) -> list[int]:
    """Contacts whose `column` lies in (after, upto], oldest first: one range over a per-store
    index (`contact_history`'s (store_id, column) indexes), so the cost follows what is due."""
    if column not in DUE_COLUMNS:
        raise ValueError(f"{column!r} is not an indexed due time")
    bounds = {f"{column}__gt": after, f"{column}__lte": upto}
    query = ContactHistory.filter(store_id=store_id, **bounds).order_by(column, "id")
    if limit is not None:
        query = query.limit(limit)
    found: list[Any] = await query.values_list("contact_id", flat=True)
    return [int(contact_id) for contact_id in found]


BIRTHDAY_GRACE = timedelta(days=2)  # a passed birthday stays put this long, for late passes
ADVANCE_BATCH = 500


async def advance_birthdays(now: datetime | None = None) -> int:
    """Move passed birthdays on to next year's 09:00, a store at a time over its own index.

    Order events keep everything else current, but a birthday passes with no event at all; this
    job makes the next one due, so each year's birthday is in the index when its day comes.
    """
    now = now or utcnow()
    moved = 0
    for store in await Store.all().only("id", "timezone"):
        rows = await ContactHistory.filter(
            store_id=store.id, birthday_due_at__lte=now - BIRTHDAY_GRACE
        ).limit(ADVANCE_BATCH)
        contacts = {c.id: c for c in await Contact.filter(id__in=[r.contact_id for r in rows])}
        for row in rows:
            contact = contacts.get(row.contact_id)
            zone = zone_of(contact, store) if contact else store.timezone
            due = rules.next_birthday_due(row.birthday, zone, now)
            moved += await ContactHistory.filter(
                id=row.id, birthday_due_at=row.birthday_due_at
            ).update(birthday_due_at=due)
    return moved

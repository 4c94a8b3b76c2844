"""Reading a store's abandonments as score examples: a few bulk queries, never one per checkout."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.checkouts.models import Checkout, Contact, Order
from app.scoring.features import Example

MAX_TRAINING_ROWS = 50_000
"""The most recent labelled abandonments a store's model learns from."""
CHUNK = 500
FIELDS = ("id", "contact_id", "total", "line_items", "device", "abandoned_at", "status")


async def abandoned_rows(store_id: int, limit: int = MAX_TRAINING_ROWS) -> list[dict[str, Any]]:
    return list(
        await Checkout.filter(store_id=store_id, abandoned_at__isnull=False)
        .order_by("-abandoned_at")
        .limit(limit)
        .values(*FIELDS)
    )


async def rows_for(store_id: int, checkout_ids: list[int]) -> list[dict[str, Any]]:
    return list(
        await Checkout.filter(
            store_id=store_id, id__in=checkout_ids, abandoned_at__isnull=False
        ).values(*FIELDS)
    )


def _chunks(ids: list[int]) -> Iterable[list[int]]:
    for i in range(0, len(ids), CHUNK):
        yield ids[i : i + CHUNK]


class _Contacts:
    """What the features need to know about the contacts of a set of checkouts."""

    def __init__(self) -> None:
        self.consent: dict[int, dict[str, Any]] = {}
        self.orders: dict[int, list[datetime]] = defaultdict(list)
        self.abandons: dict[int, list[datetime]] = defaultdict(list)

    async def load(self, store_id: int, contact_ids: list[int]) -> _Contacts:
        for ids in _chunks(contact_ids):
            for c in await Contact.filter(store_id=store_id, id__in=ids).values(
                "id", "sms_consent", "sms_consent_at", "email_consent", "email_consent_at"
            ):
                self.consent[c["id"]] = c
            for o in await Order.filter(store_id=store_id, contact_id__in=ids, placed=True).values(
                "contact_id", "placed_at"
            ):
                self.orders[o["contact_id"]].append(o["placed_at"])
            for a in await Checkout.filter(
                store_id=store_id, contact_id__in=ids, abandoned_at__isnull=False
            ).values("contact_id", "abandoned_at"):
                self.abandons[a["contact_id"]].append(a["abandoned_at"])
        for times in (*self.orders.values(), *self.abandons.values()):
            times.sort()
        return self

    def consented(self, contact_id: int | None, channel: str, at: datetime) -> bool:
        c = self.consent.get(contact_id or 0)
        if not c or not c[f"{channel}_consent"]:
            return False
        given = c[f"{channel}_consent_at"]
        return given is None or given <= at

    def before(self, times: dict[int, list[datetime]], contact_id: int | None, at: datetime) -> int:
        return bisect_left(times.get(contact_id or 0, []), at)


def _items(lines: list[dict[str, Any]] | None) -> tuple[int, int]:
    lines = lines or []
    count = 0
    for line in lines:
        try:
            count += max(int(line.get("quantity", 1)), 0)
        except (TypeError, ValueError):
            count += 1
    return count, len(lines)


async def examples(store_id: int, zone: str, rows: list[dict[str, Any]]) -> list[Example]:
    """One Example per row (in order), with the contact's history as it stood at the abandonment."""
    contact_ids = sorted({r["contact_id"] for r in rows if r["contact_id"]})
    known = await _Contacts().load(store_id, contact_ids)
    tz = ZoneInfo(zone or "UTC")
    out = []
    for r in rows:
        at: datetime = r["abandoned_at"]
        items, lines = _items(r["line_items"])
        out.append(
            Example(
                total=Decimal(str(r["total"] or 0)),
                items=items,
                lines=lines,
                device=str(r["device"] or "unknown"),
                returning=known.before(known.orders, r["contact_id"], at) > 0,
                hour=at.astimezone(tz).hour,
                sms_consent=known.consented(r["contact_id"], "sms", at),
                email_consent=known.consented(r["contact_id"], "email", at),
                earlier=known.before(known.abandons, r["contact_id"], at),
            )
        )
    return out

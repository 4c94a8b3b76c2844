"""The stats service: one function computes every figure the dashboard, the API and the CSVs show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.analytics import measures, queries, rules
from app.analytics.rules import OrderFact, Touch, shopper_keys
from app.core.errors import ApiError
from app.stores.models import Store

MAX_DAYS = 366
DEFAULT_DAYS = 30
CHANNELS = ("sms", "email")
FAILED = frozenset({"failed", "undelivered"})


@dataclass(frozen=True, slots=True)
class Range:
    start: date
    end: date
    zone: str
    channel: str | None

    @property
    def utc(self) -> tuple[datetime, datetime]:
        """Local midnight of the first day to local midnight after the last, as UTC instants."""
        tz = ZoneInfo(self.zone)
        low = datetime.combine(self.start, time(), tz)
        high = datetime.combine(self.end + timedelta(days=1), time(), tz)
        return low, high


def parse_range(
    store: Store, now: datetime, start: str | None, end: str | None, channel: str | None
) -> Range:
    """Dates are the merchant's calendar days; the default is the last 30 days up to today."""
    zone = store.timezone or "UTC"
    today = measures.local_day(now, zone)
    try:
        last = date.fromisoformat(end) if end else today
        first = date.fromisoformat(start) if start else last - timedelta(days=DEFAULT_DAYS - 1)
    except ValueError:
        raise ApiError(400, "invalid_date", "from and to are dates like 2026-03-01") from None
    if first > last:
        raise ApiError(400, "invalid_range", "from must be on or before to")
    if (last - first).days + 1 > MAX_DAYS:
        raise ApiError(400, "invalid_range", f"a range covers at most {MAX_DAYS} days")
    if channel not in (None, "", *CHANNELS):
        raise ApiError(400, "invalid_channel", "channel is sms or email")
    return Range(first, last, zone, channel or None)


def store_options(store: Store) -> tuple[rules.Windows, measures.Prices, dict[str, Any]]:
    raw = store.settings or {}
    return (
        rules.windows_from_settings(raw.get("attribution")),
        measures.prices_from_settings(raw.get("prices")),
        dict(raw.get("attribution") or {}),
    )


async def platform_rates(store: Store) -> dict[str, Decimal]:
    found: dict[str, Decimal] = {}
    for row in await queries.rates(store.id, store.currency):
        rate = rules.platform_rate(Decimal(row["total"]), Decimal(row["presentment_total"]))
        if rate is not None:
            found.setdefault(str(row["currency"]).upper(), rate)
    return found


def order_worth(row: dict[str, Any], store: Store, rates: dict[str, Decimal]) -> Decimal | None:
    presentment = row.get("presentment_total")
    return rules.order_value(
        Decimal(row["total"]),
        row["currency"],
        Decimal(presentment) if presentment is not None else None,
        row.get("presentment_currency"),
        store.currency,
        rates,
    )


def _codes(raw: Any) -> frozenset[str]:
    if isinstance(raw, str):
        import json

        raw = json.loads(raw)
    return frozenset(str(c).upper() for c in raw or [])


def order_facts(rows: list[dict], store: Store, rates: dict[str, Decimal]) -> list[OrderFact]:
    return [
        OrderFact(
            id=r["id"],
            keys=shopper_keys(r["contact_id"], r["checkout_id"]),
            placed_at=r["placed_at"],
            value=order_worth(r, store, rates),
            counts=rules.order_counts(bool(r["placed"]), r["financial_status"]),
            codes=_codes(r["discount_codes"]),
            abandoned_at=r["abandoned_at"],
            contacted_at=r["recovery_contacted_at"],
        )
        for r in rows
    ]


def checkout_of(order: OrderFact) -> int | None:
    for key in order.keys:
        if key.startswith("checkout:"):
            return int(key.split(":", 1)[1])
    return None


async def _touches(
    store: Store, start: datetime, end: datetime, channel: str | None, windows: rules.Windows
) -> list[tuple[Touch, str | None]]:
    """Every touch with the channel it counts under: sms, email, or the clicked message's."""
    found: list[tuple[Touch, str | None]] = []
    for r in await queries.touches(store.id, start, end, windows.longest, channel):
        at = r["delivered_at"] or r["sent_at"]
        if rules.is_delivered(r["channel"], r["status"]) and at is not None:
            touch = Touch(shopper_keys(r["contact_id"], r["checkout_id"]), r["channel"], at)
            found.append((touch, r["channel"]))
    for r in await queries.click_touches(store.id, start, end, windows.longest, channel):
        touch = Touch(shopper_keys(r["contact_id"], r["checkout_id"]), "click", r["clicked_at"])
        found.append((touch, r["channel"]))
    return found


@dataclass(frozen=True, slots=True)
class Inputs:
    """What attribution reads for the orders placed in [start, end): the stats and the rollup
    read them here alike, so a rolled-up day claims exactly what the raw stats would."""

    rows: list[dict[str, Any]]
    facts: list[OrderFact]
    issued: dict[str, datetime]
    touches: list[tuple[Touch, str | None]]


async def attribution_inputs(
    store: Store,
    start: datetime,
    end: datetime,
    channel: str | None,
    rates: dict[str, Decimal],
) -> Inputs:
    """Without orders there is nothing to attribute, and no touch of a shopper who ordered."""
    rows = await queries.orders(store.id, start, end)
    if not rows:
        return Inputs([], [], {}, [])
    windows, _, _ = store_options(store)
    facts = order_facts(rows, store, rates)
    codes = {c for f in facts for c in f.codes}
    issued = {r["code"]: r["issued_at"] for r in await queries.issued_codes(store.id, codes)}
    return Inputs(rows, facts, issued, await _touches(store, start, end, channel, windows))


async def attribution(
    store: Store,
    start: datetime,
    end: datetime,
    channel: str | None,
    now: datetime,
    rates: dict[str, Decimal],
) -> tuple[rules.Attribution, list[OrderFact]]:
    """Every model over the orders placed in [start, end), straight from the raw tables."""
    windows, _, _ = store_options(store)
    found = await attribution_inputs(store, start, end, channel, rates)
    touches = [touch for touch, _ in found.touches]
    return rules.attribute(now, found.facts, touches, found.issued, windows), found.facts

"""The holdout's counted inputs: flow entries per flow and group, and their converted orders.

An entry "wins" when a counted order of its shopper falls within the conversion window of its entry
(`measures.converted`, the same rule for both groups). What wins are worth is kept per currency
pair, as the platform reported the orders, and converted with the rates of the moment when read:
a conversion is a product with a rate, so a sum converts exactly like its parts.

The tallies of a clean day come from `analytics_day_holdout` (built by `rollups`); dirty days,
entries without a cart (no checkout event marks their day) and SQLite are tallied from the raw
rows here, by the same function the rollup is built with.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from app.analytics import attribution, measures, raw, rules, sql
from app.analytics.results import Cohort
from app.stores.models import Store

ZERO = Decimal(0)
Tally = dict[str, Any]
"""flow_id, held, members, wins, currency, presentment_currency, total, presentment_total."""


def tally(rows: list[dict[str, Any]], window: timedelta) -> list[Tally]:
    """Raw rows (one per entry and order, `raw.holdout_rows`) summed up: a count row per flow and
    group (`currency` None), and a worth row per flow, group and currency pair."""
    entries: dict[int, tuple[int | None, bool]] = {}
    won: set[int] = set()
    worth: dict[tuple[Any, ...], list[Any]] = {}
    for r in rows:
        entries[r["id"]] = (r["flow_id"], r["status"] == "holdout")
        counted = r["placed_at"] is not None and rules.order_counts(
            bool(r["placed"]), r["financial_status"]
        )
        if not counted or not measures.converted(r["abandoned_at"], r["placed_at"], window):
            continue
        won.add(r["id"])
        shown = r["presentment_total"] is not None and bool(r["presentment_currency"])
        pair = (r["currency"], r["presentment_currency"] if shown else None)
        sums = worth.setdefault((*entries[r["id"]], *pair), [ZERO, None])
        sums[0] += Decimal(r["total"])
        if shown:
            sums[1] = (sums[1] or ZERO) + Decimal(r["presentment_total"])
    counts: dict[tuple[int | None, bool], list[int]] = defaultdict(lambda: [0, 0])
    for entry, group in entries.items():
        counts[group][0] += 1
        counts[group][1] += entry in won
    out = [_row(flow, held, n, k) for (flow, held), (n, k) in counts.items()]
    for (flow, held, currency, shown_in), (total, shown_total) in worth.items():
        out.append(_row(flow, held, 0, 0, currency, shown_in, total, shown_total))
    return out


def _row(
    flow_id: int | None,
    held: bool,
    members: int,
    wins: int,
    currency: str | None = None,
    presentment_currency: str | None = None,
    total: Decimal = ZERO,
    presentment_total: Decimal | None = None,
) -> Tally:
    return {
        "flow_id": flow_id,
        "held": held,
        "members": members,
        "wins": wins,
        "currency": currency,
        "presentment_currency": presentment_currency,
        "total": total,
        "presentment_total": presentment_total,
    }


async def read(
    store: Store,
    rolled: list[date],
    raw_spans: list[tuple[datetime, datetime]],
    whole: tuple[datetime, datetime],
    window: timedelta,
) -> list[Tally]:
    """The tallies of a range: rolled-up days from the rollup (entries with a cart), the rest raw."""
    found: list[Tally] = []
    if not rolled:
        for start, end in raw_spans:
            found += tally(await raw.holdout_rows(store.id, start, end), window)
        return found
    found += await sql.rows(
        """SELECT flow_id, held, sum(members) AS members, sum(wins) AS wins, currency,
          presentment_currency, sum(total) AS total, sum(presentment_total) AS presentment_total
        FROM analytics_day_holdout WHERE store_id = $1 AND day = ANY($2::date[])
        GROUP BY flow_id, held, currency, presentment_currency""",
        store.id,
        rolled,
    )
    for start, end in raw_spans:
        found += tally(await raw.holdout_rows(store.id, start, end, carts=True), window)
    found += tally(await raw.holdout_rows(store.id, *whole, carts=False), window)
    return found


def cohorts(tallies: list[Tally], store: Store, rates: dict[str, Decimal]) -> list[Cohort]:
    """One cohort per flow and group, its wins' worth in the store currency with today's rates
    (an amount with no known rate counts as a win worth nothing, as it always has)."""
    out: dict[tuple[int | None, bool], Cohort] = {}
    for t in tallies:
        key = (t["flow_id"], bool(t["held"]))
        cohort = out.setdefault(key, Cohort(*key))
        if t["currency"] is None:
            cohort.size += int(t["members"])
            cohort.wins += int(t["wins"])
        else:
            cohort.worth += attribution.order_worth(t, store, rates) or ZERO
    return list(out.values())

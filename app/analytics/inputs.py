"""The counted inputs of the figures for a range: rolled-up days from the rollups, the rest raw, merged.

`plan` decides which days are read from the rollups. Each reader returns what the raw query over the
whole range would return, so `figures` cannot tell the difference; tests hold both paths equal.
Attribution (orders and their claims) is read the same way, in `attribution`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.analytics import raw, rollups, sql
from app.analytics.period import Range, day_bounds, days_between
from app.stores.models import Store

ZERO = Decimal(0)
TOP_PRODUCTS = 200


@dataclass(frozen=True, slots=True)
class Plan:
    """Which days come from the rollups, and which UTC intervals are read raw."""

    rolled: list[date]
    raw: list[tuple[datetime, datetime]]


async def plan(store: Store, rng: Range, use_rollups: bool = True) -> Plan:
    if not use_rollups or not sql.is_postgres():
        return Plan([], [rng.utc])
    found = await sql.rows(
        """SELECT day FROM analytics_day
        WHERE store_id = $1 AND day >= $2 AND day <= $3 AND computed_at IS NOT NULL
          AND dirty_at IS NULL AND fingerprint = $4""",
        store.id,
        rng.start,
        rng.end,
        rollups.fingerprint(store),
    )
    rolled = {r["day"] for r in found}
    runs: list[list[date]] = []
    for day in days_between(rng.start, rng.end):
        if day in rolled:
            continue
        if runs and (day - runs[-1][-1]).days == 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    intervals = [(day_bounds(r[0], rng.zone)[0], day_bounds(r[-1], rng.zone)[1]) for r in runs]
    return Plan(sorted(rolled), intervals)


async def funnel(store: Store, p: Plan, email_consent: bool) -> dict[str, int]:
    total: dict[str, int] = defaultdict(int)
    if p.rolled:
        reach = "reachable_strict" if email_consent else "reachable_open"
        found = await sql.rows(
            f"""SELECT COALESCE(sum(abandoned), 0) AS abandoned,
              COALESCE(sum({reach}), 0) AS reachable, COALESCE(sum(enrolled), 0) AS enrolled,
              COALESCE(sum(holdout), 0) AS holdout, COALESCE(sum(messaged), 0) AS messaged
            FROM analytics_day WHERE store_id = $1 AND day = ANY($2::date[])""",
            store.id,
            p.rolled,
        )
        for k, v in found[0].items():
            total[k] += int(v)
    for start, end in p.raw:
        counted = await raw.funnel(store.id, start, end)
        counted["reachable"] = counted["reachable_strict" if email_consent else "reachable_open"]
        for k, v in counted.items():
            total[k] += v
    keys = ("abandoned", "reachable", "enrolled", "holdout", "messaged")
    return {k: total[k] for k in keys}


async def send_groups(store: Store, p: Plan, channel: str | None) -> list[dict[str, Any]]:
    """The raw intervals' sends grouped as the rollup stores them (`raw.send_groups`): read once,
    they serve both `sends` and `variants`, on every path (a dirty day of a rolled-up range, a
    range read raw, SQLite)."""
    found: list[dict[str, Any]] = []
    for start, end in p.raw:
        found += await raw.send_groups(store.id, start, end, channel)
    return found


async def sends(
    store: Store,
    p: Plan,
    channel: str | None,
    grouped: Awaitable[list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """`grouped`: the raw intervals' `send_groups`, read once for `sends` and `variants` (read here
    when not given)."""
    found: list[dict[str, Any]] = []
    if p.rolled:
        found += await sql.rows(
            f"""SELECT flow_id, channel, step_index, variant, status, sum(n) AS n,
              sum(segments) AS segments, sum(replied) AS replied
            FROM analytics_day_send WHERE store_id = $1 AND day = ANY($2::date[])
              {sql.channel_filter(channel, "$3", "channel")}
            GROUP BY flow_id, channel, step_index, variant, status""",
            store.id,
            p.rolled,
            *([channel] if channel else []),
        )
    keys = ("flow_id", "channel", "step_index", "variant", "status", "n", "segments", "replied")
    return found + [{k: r[k] for k in keys} for r in await _raw_groups(store, p, channel, grouped)]


async def variants(
    store: Store,
    p: Plan,
    channel: str | None,
    grouped: Awaitable[list[dict[str, Any]]] | None = None,
) -> list[dict[str, Any]]:
    """Per flow, step, channel and variant: sends to a checkout we still have, and how many of
    those checkouts were recovered after the send (failed sends and sends outside a step left
    out)."""
    found: list[dict[str, Any]] = []
    if p.rolled:
        found += await sql.rows(
            f"""SELECT flow_id, step_index, channel, variant, sum(tested) AS sent,
              sum(conversions) AS conversions
            FROM analytics_day_send WHERE store_id = $1 AND day = ANY($2::date[])
              AND status <> 'failed' AND step_index IS NOT NULL
              {sql.channel_filter(channel, "$3", "channel")}
            GROUP BY flow_id, step_index, channel, variant HAVING sum(tested) > 0""",
            store.id,
            p.rolled,
            *([channel] if channel else []),
        )
    found += _tested(await _raw_groups(store, p, channel, grouped))
    merged: dict[tuple, list[int]] = {}
    for r in found:
        key = (r["flow_id"], r["step_index"], r["channel"], r["variant"])
        row = merged.setdefault(key, [0, 0])
        row[0] += int(r["sent"])
        row[1] += int(r["conversions"])
    return [
        {"flow_id": f, "step_index": s, "channel": c, "variant": v, "sent": n, "conversions": k}
        for (f, s, c, v), (n, k) in merged.items()
    ]


async def _raw_groups(
    store: Store, p: Plan, channel: str | None, grouped: Awaitable[list[dict[str, Any]]] | None
) -> list[dict[str, Any]]:
    return await (grouped if grouped is not None else send_groups(store, p, channel))


def _tested(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """`send_groups` rows as the rolled-up read groups them: A/B arms of the steps, failed sends
    and arms with no tested send left out."""
    merged: dict[tuple, list[int]] = {}
    for r in rows:
        if r["status"] == "failed" or r["step_index"] is None:
            continue
        row = merged.setdefault((r["flow_id"], r["step_index"], r["channel"], r["variant"]), [0, 0])
        row[0] += int(r["tested"])
        row[1] += int(r["conversions"])
    return [
        {"flow_id": f, "step_index": s, "channel": c, "variant": v, "sent": n, "conversions": k}
        for (f, s, c, v), (n, k) in merged.items()
        if n > 0
    ]


async def daily(store: Store, p: Plan, rng: Range) -> tuple[list[dict], list[dict]]:
    """Abandoned checkouts and automated sends per local day (rows of `day`, `n`)."""
    abandoned: list[dict] = []
    sent: list[dict] = []
    if p.rolled:
        abandoned += await sql.rows(
            """SELECT day, abandoned AS n FROM analytics_day
            WHERE store_id = $1 AND day = ANY($2::date[])""",
            store.id,
            p.rolled,
        )
        sent += await sql.rows(
            f"""SELECT day, sum(n) AS n FROM analytics_day_send
            WHERE store_id = $1 AND day = ANY($2::date[])
              {sql.channel_filter(rng.channel, "$3", "channel")}
            GROUP BY day""",
            store.id,
            p.rolled,
            *([rng.channel] if rng.channel else []),
        )
    extra = f" AND {raw.AUTOMATION} AND m.status NOT IN {raw.NOT_SENT}"
    extra += sql.channel_filter(rng.channel, "$5")
    for start, end in p.raw:
        args = (store.id, start, end, rng.zone)
        abandoned += await raw.daily(
            "checkout", "m.abandoned_at", *args, " AND m.superseded_by_id IS NULL"
        )
        channel = [rng.channel] if rng.channel else []
        sent += await raw.daily("message", "m.created_at", *args, extra, *channel)
    return abandoned, sent


async def products(store: Store, p: Plan) -> list[dict[str, Any]]:
    """The top groups by checkouts, ties broken by title and currency (code point order)."""
    found: list[dict[str, Any]] = []
    if p.rolled:
        found += await sql.rows(
            """SELECT title, currency, sum(abandoned) AS abandoned, sum(quantity) AS quantity,
              sum(value) AS value
            FROM analytics_day_product WHERE store_id = $1 AND day = ANY($2::date[])
            GROUP BY title, currency""",
            store.id,
            p.rolled,
        )
    for start, end in p.raw:
        found += await raw.products(store.id, start, end)
    merged: dict[tuple, list[Any]] = {}
    for r in found:
        row = merged.setdefault((r["title"], r["currency"]), [0, 0, ZERO])
        row[0] += int(r["abandoned"])
        row[1] += int(r["quantity"] or 0)
        row[2] += Decimal(str(r["value"] or 0))
    ranked = sorted(
        merged.items(), key=lambda kv: (-kv[1][0], kv[0][0] is None, kv[0][0] or "", kv[0][1])
    )
    return [
        {"title": t, "currency": c, "abandoned": n, "quantity": q, "value": v}
        for (t, c), (n, q, v) in ranked[:TOP_PRODUCTS]
    ]

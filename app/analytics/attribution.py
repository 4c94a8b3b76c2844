"""Attribution of a range: which orders FollowUp claims, under every model, and which step earned each.

The one place orders are credited. Raw intervals gather facts from the source tables (`raw`) and ask
the pure `rules`; for a rolled-up day, `day_claims` decides each order's claims once (from the same
`evidence`), the rollup stores them and `_read_rolled` sums them, so both paths claim alike.
"""

from __future__ import annotations

import asyncio
import json
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.analytics import raw, rules, sql
from app.analytics.models import OrderClaim, OrderCredit, RollupClaim, RollupCredit
from app.analytics.period import Range, local_day
from app.analytics.rules import OrderFact, Origin, Touch, shopper_keys
from app.stores.models import Store

ZERO = Decimal(0)


def windows_of(store: Store) -> rules.Windows:
    """The store's attribution windows (`settings["attribution"]`), clamped by the rules."""
    return rules.windows_from_settings((store.settings or {}).get("attribution"))


# --- money -------------------------------------------------------------------------------------


async def platform_rates(store: Store) -> dict[str, Decimal]:
    """Store-currency units per presentment unit, from the store's latest orders in each currency."""
    found: dict[str, Decimal] = {}
    for row in await raw.rates(store.id, store.currency):
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


# --- facts from the raw tables -----------------------------------------------------------------


def _codes(found: Any) -> frozenset[str]:
    if isinstance(found, str):
        found = json.loads(found)
    return frozenset(str(c).upper() for c in found or [])


def order_facts(
    rows: list[dict[str, Any]], store: Store, rates: dict[str, Decimal]
) -> list[OrderFact]:
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
    for r in await raw.touches(store.id, start, end, windows.longest, channel):
        at = r["delivered_at"] or r["sent_at"]
        if rules.is_delivered(r["channel"], r["status"]) and at is not None:
            keys = shopper_keys(r["contact_id"], r["checkout_id"])
            automated = r["author"] == "automation" and r["step_index"] is not None
            origin = Origin(r["flow_id"], r["step_index"], r["channel"]) if automated else None
            found.append((Touch(keys, r["channel"], at, origin), r["channel"]))
    for r in await raw.click_touches(store.id, start, end, windows.longest, channel):
        keys = shopper_keys(r["contact_id"], r["checkout_id"])
        known = r["step_index"] is not None and r["channel"] is not None
        origin = Origin(r["flow_id"], r["step_index"], r["channel"]) if known else None
        found.append((Touch(keys, "click", r["clicked_at"], origin), r["channel"]))
    return found


@dataclass(frozen=True, slots=True)
class Evidence:
    """What attribution reads for the orders placed in [start, end): the figures and the rollup
    read it here alike, so a rolled-up day claims exactly what the raw figures would."""

    rows: list[dict[str, Any]]
    facts: list[OrderFact]
    issued: dict[str, datetime]
    touches: list[tuple[Touch, str | None]]


async def evidence(
    store: Store,
    start: datetime,
    end: datetime,
    channel: str | None,
    rates: dict[str, Decimal],
) -> Evidence:
    """Without orders there is nothing to attribute, and no touch of a shopper who ordered."""
    rows = await raw.orders(store.id, start, end)
    if not rows:
        return Evidence([], [], {}, [])
    facts = order_facts(rows, store, rates)
    codes = {c for f in facts for c in f.codes}
    issued = {r["code"]: r["issued_at"] for r in await raw.issued_codes(store.id, codes)}
    touches = await _touches(store, start, end, channel, windows_of(store))
    return Evidence(rows, facts, issued, touches)


# --- the claims of a range ---------------------------------------------------------------------


@dataclass(slots=True)
class Claims:
    """The attribution of a range, with what the trends, steps and time-to-recovery need of it."""

    result: rules.Attribution = field(default_factory=rules.Attribution)
    won: dict[date, list[Any]] = field(default_factory=lambda: defaultdict(lambda: [0, ZERO]))
    """Recovered orders and revenue per local day."""
    hours: list[float] = field(default_factory=list)
    """Abandonment to recovered order, per recovered order."""
    credit: dict[int, list[Any]] = field(default_factory=lambda: defaultdict(lambda: [0, ZERO]))
    """Recovered orders and revenue per step index (the last automated step sent before each)."""
    flows: dict[tuple[str, int | None, int, str], list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [0, ZERO])
    )
    """Orders and revenue per (model, flow, step index, channel): the flow step each of the
    recovered, message and click models credits an order to (`flow_credits`)."""

    def merge(self, other: rules.Attribution) -> None:
        for name in ("total", "recovered", "click", "message", "discount"):
            mine, theirs = getattr(self.result, name), getattr(other, name)
            mine.orders += theirs.orders
            mine.revenue += theirs.revenue
        self.result.excluded += other.excluded
        self.result.unconverted += other.unconverted


async def claims(
    store: Store,
    rolled: list[date],
    intervals: list[tuple[datetime, datetime]],
    rng: Range,
    now: datetime,
    rates: dict[str, Decimal],
) -> Claims:
    """Every model over the range: the `rolled` days from their stored claims, `intervals` raw."""
    out = Claims()
    if rolled:
        await _read_rolled(out, store, rolled, rng, now, rates)
    for start, end in intervals:
        await _add_raw(out, store, start, end, rng, now, rates)
    return out


async def _add_raw(
    out: Claims,
    store: Store,
    start: datetime,
    end: datetime,
    rng: Range,
    now: datetime,
    rates: dict[str, Decimal],
) -> None:
    """Every model over the orders placed in [start, end), straight from the raw tables."""
    found = await evidence(store, start, end, rng.channel, rates)
    touches = [touch for touch, _ in found.touches]
    result = rules.attribute(now, found.facts, touches, found.issued, windows_of(store))
    out.merge(result)
    ids = set(result.recovered_ids)
    recovered = [f for f in found.facts if f.id in ids]
    for o in recovered:
        won = out.won[local_day(o.placed_at, rng.zone)]
        won[0] += 1
        won[1] += o.value or ZERO
    out.hours += [
        (o.placed_at - o.abandoned_at).total_seconds() / 3600 for o in recovered if o.abandoned_at
    ]
    await _raw_credit(out, store, recovered, rng.channel)
    for fact, model, origin in flow_credits(now, found.facts, touches, windows_of(store)):
        _credit_flow(out, model, origin, fact.value)


def flow_credits(
    now: datetime, facts: list[OrderFact], touches: list[Touch], windows: rules.Windows
) -> list[tuple[OrderFact, str, Origin]]:
    """The message and click models' flow step for each counted order (see `rules.last_touch`)."""
    index: dict[str, list[Touch]] = defaultdict(list)
    for touch in touches:
        if touch.origin is not None:
            for key in touch.keys:
                index[key].append(touch)
    found = []
    for fact in facts:
        if fact.placed_at > now or not fact.counts:
            continue
        mine = [t for key in fact.keys for t in index.get(key, ())]
        for model, clicks in (("message", False), ("click", True)):
            best = rules.last_touch(
                fact, (t for t in mine if (t.channel == "click") is clicks), windows
            )
            if best is not None and best.origin is not None:
                found.append((fact, model, best.origin))
    return found


def _credit_flow(out: Claims, model: str, origin: Origin, value: Decimal | None) -> None:
    credit = out.flows[(model, origin.flow_id, origin.step_index, origin.channel)]
    credit[0] += 1
    credit[1] += value or ZERO


async def last_steps_by_checkout(
    store: Store, orders: list[OrderFact]
) -> dict[int, list[dict[str, Any]]]:
    """The automated sends to the orders' checkouts, to credit the last step before each order."""
    ids = [c for o in orders if (c := checkout_of(o))]
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in await raw.last_steps(store.id, ids):
        found[r["checkout_id"]].append(r)
    return found


def last_send(
    sent: list[dict[str, Any]], placed_at: datetime, channel: str | None
) -> dict[str, Any] | None:
    """The send credited for an order: the last automated send (of `channel`, if given) before it."""
    earlier = [
        r for r in sent if r["sent_at"] < placed_at and (channel is None or r["channel"] == channel)
    ]
    return max(earlier, key=lambda r: (r["sent_at"], r["step_index"])) if earlier else None


def last_step(sent: list[dict[str, Any]], placed_at: datetime, channel: str | None) -> int | None:
    found = last_send(sent, placed_at, channel)
    return None if found is None else found["step_index"]


async def _raw_credit(
    out: Claims, store: Store, recovered: list[OrderFact], channel: str | None
) -> None:
    """Each recovered order is credited to the last automated step sent before it, once."""
    sent = await last_steps_by_checkout(store, recovered)
    for order in recovered:
        send = last_send(sent.get(checkout_of(order) or -1, []), order.placed_at, channel)
        if send is not None:
            credit = out.credit[send["step_index"]]
            credit[0] += 1
            credit[1] += order.value or ZERO
            _credit_flow(out, "recovered", _origin(send), order.value)


def _origin(send: dict[str, Any]) -> Origin:
    return Origin(send["flow_id"], send["step_index"], send["channel"])


# --- rolled-up days: the per-order claims the rollup stores, and reading them back ------------


def _last_steps(rows: list[dict[str, Any]], placed_at: datetime) -> dict[str, int | None]:
    """The step credited under each channel filter: the last automated send before the order."""
    filters = (("step_all", None), ("step_sms", "sms"), ("step_email", "email"))
    return {name: last_step(rows, placed_at, ch) for name, ch in filters}


async def day_claims(
    store: Store, day: date, start: datetime, end: datetime
) -> tuple[list[OrderClaim], list[OrderCredit]]:
    """What the rollup stores for the orders of one store-day: every model's verdict and the
    credited step under each channel filter, per order, so `_read_rolled` can sum them later;
    and the flow step each model credits each order to, under each channel filter."""
    windows = windows_of(store)
    found = await evidence(store, start, end, None, {})
    if not found.rows:
        return [], []
    rows, facts, issued = found.rows, found.facts, found.issued
    index: dict[str, list[tuple[Touch, str | None]]] = defaultdict(list)
    for pair in found.touches:
        for key in pair[0].keys:
            index[key].append(pair)
    won = [f for f in facts if rules.recovered(f)]
    steps = await last_steps_by_checkout(store, won)
    claims, credits = [], []
    for fact, row in zip(facts, rows, strict=True):
        mine = [p for key in fact.keys for p in index.get(key, ())]
        recovered = rules.recovered(fact)
        sent = steps.get(checkout_of(fact) or -1, [])
        credit = _last_steps(sent, fact.placed_at)
        claims.append(
            OrderClaim(
                store_id=store.id,
                day=day,
                order_id=fact.id,
                placed_at=fact.placed_at,
                counts=fact.counts,
                total=row["total"],
                currency=row["currency"],
                presentment_total=row["presentment_total"],
                presentment_currency=row["presentment_currency"],
                recovered=recovered,
                abandoned_at=fact.abandoned_at if recovered else None,
                click_sms=_touched(fact, mine, "click", "sms", windows),
                click_email=_touched(fact, mine, "click", "email", windows),
                click_other=_touched(fact, mine, "click", None, windows),
                message_sms=_touched(fact, mine, "message", "sms", windows),
                message_email=_touched(fact, mine, "message", "email", windows),
                discount=rules.by_discount(fact, issued),
                **(credit if recovered else {}),
            )
        )
        credits += _order_credits(store.id, day, fact, mine, sent if recovered else [], windows)
    return claims, credits


UNDER = (("all", None), ("sms", "sms"), ("email", "email"))


def _order_credits(
    store_id: int,
    day: date,
    fact: OrderFact,
    mine: list[tuple[Touch, str | None]],
    sent: list[dict[str, Any]],
    windows: rules.Windows,
) -> list[OrderCredit]:
    """Each model's flow step for one order, under each channel filter, as `_add_raw` finds them
    with that filter (touches of that channel, the last send of that channel)."""
    found = []
    for under, channel in UNDER:
        touches = [t for t, ch in mine if channel is None or ch == channel]
        picks: list[tuple[str, Origin]] = [
            (model, origin)
            for _, model, origin in flow_credits(fact.placed_at, [fact], touches, windows)
        ]
        send = last_send(sent, fact.placed_at, channel)
        if send is not None:
            picks.append(("recovered", _origin(send)))
        found += [
            OrderCredit(
                store_id=store_id,
                day=day,
                order_id=fact.id,
                model=model,
                under=under,
                flow_id=origin.flow_id,
                step_index=origin.step_index,
                channel=origin.channel,
            )
            for model, origin in picks
        ]
    return found


def _touched(
    fact: rules.OrderFact,
    mine: list[tuple[Touch, str | None]],
    kind: str,
    channel: str | None,
    windows: rules.Windows,
) -> bool:
    clicks = kind == "click"
    chosen = [t for t, ch in mine if (t.channel == "click") is clicks and ch == channel]
    return rules.touched(fact, chosen, windows)


_FLAGS = (
    "counts, recovered, click_sms, click_email, click_other, message_sms, message_email, discount"
)
_STEPS = "step_all, step_sms, step_email"
_LOCAL = """CASE WHEN upper(currency) = $4 THEN total
  WHEN presentment_total IS NOT NULL AND COALESCE(presentment_currency, '') <> ''
    AND upper(presentment_currency) = $4 THEN presentment_total END"""
_SCOPE = "store_id = $1 AND day = ANY($2::date[]) AND placed_at <= $3"


def _pair(row: Any) -> tuple[str, str | None]:
    """An amount's currency pair: the presentment currency only when a presentment total is shown."""
    shown = row.presentment_total is not None and bool(row.presentment_currency)
    return row.currency, row.presentment_currency if shown else None


def _add_amount(sums: list[Any], row: Any) -> None:
    sums[0] += 1
    sums[1] += Decimal(row.total)
    if row.presentment_total is not None and row.presentment_currency:
        sums[2] = (sums[2] or ZERO) + Decimal(row.presentment_total)
    sums[3] = max(sums[3], row.placed_at)


def _claimed_under(claim: OrderClaim, under: str) -> tuple[bool, bool, int | None]:
    """Click, message and credited step of an order as `_add_group` reads them under a filter."""
    if under == "all":
        click = claim.click_sms or claim.click_email or claim.click_other
        return click, claim.message_sms or claim.message_email, claim.step_all
    step = claim.step_sms if under == "sms" else claim.step_email
    return getattr(claim, f"click_{under}"), getattr(claim, f"message_{under}"), step


def group_claims(store_id: int, day: date, claims: list[OrderClaim]) -> list[RollupClaim]:
    """A day's per-order claims summed per channel filter and group (`RollupClaim`)."""
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for under, _ in UNDER:
        for c in claims:
            click, message, step = _claimed_under(c, under)
            key = (under, c.counts, c.recovered, click, message, c.discount, step, *_pair(c))
            sums = groups.setdefault(key, [0, ZERO, None, c.placed_at, []])
            _add_amount(sums, c)
            if c.counts and c.recovered and c.abandoned_at is not None:
                sums[4].append((c.placed_at - c.abandoned_at).total_seconds())
    fields = ("under", "counts", "recovered", "click", "message", "discount", "step_index")
    return [
        RollupClaim(
            store_id=store_id,
            day=day,
            **dict(zip(fields, key[:7], strict=True)),
            currency=key[7],
            presentment_currency=key[8],
            n=n,
            total=total,
            presentment_total=shown,
            last_placed_at=last,
            seconds=seconds,
        )
        for key, (n, total, shown, last, seconds) in groups.items()
    ]


def group_credits(
    store_id: int, day: date, claims: list[OrderClaim], credits: list[OrderCredit]
) -> list[RollupCredit]:
    """A day's flow credits of counted orders summed per filter, model, step and currency pair."""
    orders = {c.order_id: c for c in claims}
    groups: dict[tuple[Any, ...], list[Any]] = {}
    for cr in credits:
        order = orders[cr.order_id]
        if not order.counts:
            continue
        key = (cr.under, cr.model, cr.flow_id, cr.step_index, cr.channel, *_pair(order))
        _add_amount(groups.setdefault(key, [0, ZERO, None, order.placed_at]), order)
    fields = ("under", "model", "flow_id", "step_index", "channel", "currency")
    return [
        RollupCredit(
            store_id=store_id,
            day=day,
            **dict(zip(fields, key[:6], strict=True)),
            presentment_currency=key[6],
            n=n,
            total=total,
            presentment_total=shown,
            last_placed_at=last,
        )
        for key, (n, total, shown, last) in groups.items()
    ]


def _local(row: dict[str, Any], currency: str) -> Decimal | None:
    """A group's sum in the store currency when no rate is needed (`_LOCAL`), else None."""
    if str(row["currency"]).upper() == currency:
        return Decimal(row["total"])
    shown = row["presentment_currency"]
    if row["presentment_total"] is not None and shown and str(shown).upper() == currency:
        return Decimal(row["presentment_total"])
    return None


async def _read_rolled(
    out: Claims,
    store: Store,
    days: list[date],
    rng: Range,
    now: datetime,
    rates: dict[str, Decimal],
) -> None:
    """The rolled-up days' claims from their groups (a few rows per day). A day with an order in
    another currency (converted order by order with today's rates) or placed after `now` (a
    clock-skewed order waits there) is read from its per-order claims instead, as before."""
    under, cur = rng.channel or "all", store.currency.upper()
    args = (store.id, under, days)
    scope = "store_id = $1 AND under = $2 AND day = ANY($3::date[])"
    claim_rows, credit_rows = await asyncio.gather(
        sql.rows(
            f"""SELECT day, counts, recovered, click, message, discount, step_index, currency,
              presentment_currency, n, total, presentment_total, last_placed_at, seconds
            FROM analytics_day_claim WHERE {scope}""",
            *args,
        ),
        sql.rows(
            f"""SELECT day, model, flow_id, step_index, channel, currency, presentment_currency,
              n, total, presentment_total, last_placed_at
            FROM analytics_day_credit WHERE {scope}""",
            *args,
        ),
    )
    odd = {r["day"] for r in claim_rows if r["last_placed_at"] > now or _local(r, cur) is None}
    for row in claim_rows:
        if row["day"] in odd:
            continue
        n, revenue = int(row["n"]), _local(row, cur)
        _add_claims(out, row, n, revenue)
        seconds = row["seconds"]
        out.hours += [
            s / 3600 for s in (json.loads(seconds) if isinstance(seconds, str) else seconds)
        ]
    for row in credit_rows:
        if row["day"] not in odd:
            credit = out.flows[(row["model"], row["flow_id"], row["step_index"], row["channel"])]
            credit[0] += int(row["n"])
            credit[1] += _local(row, cur) or ZERO
    if odd:
        await _read_orders(out, store, sorted(odd), rng, now, rates)


def _add_claims(out: Claims, row: dict[str, Any], n: int, revenue: Decimal | None) -> None:
    """What `rules.attribute` does for one order, for a group of alike orders in the store currency."""
    result = out.result
    if not row["counts"]:
        result.excluded += n
        return
    revenue = revenue or ZERO
    tallies: list[rules.Tally] = [result.total]
    if row["recovered"]:
        tallies.append(result.recovered)
        won = out.won[row["day"]]
        won[0] += n
        won[1] += revenue
        if row["step_index"] is not None:
            out.credit[row["step_index"]][0] += n
            out.credit[row["step_index"]][1] += revenue
    tallies += [getattr(result, k) for k in ("click", "message", "discount") if row[k]]
    for tally in tallies:
        tally.orders += n
        tally.revenue += revenue


async def _read_orders(
    out: Claims,
    store: Store,
    days: list[date],
    rng: Range,
    now: datetime,
    rates: dict[str, Decimal],
) -> None:
    """Summed in SQL where the order is in the store currency; orders in another currency are
    read one by one and converted with today's platform rates, like the raw computation.
    Everything is read as of `now`, so a clock-skewed order waits there too."""
    args = (store.id, days, now, store.currency.upper())
    # Independent reads, run at once (each scans the range's claims; together they took their sum).
    async with asyncio.TaskGroup() as reads:
        groups_t = reads.create_task(
            sql.rows(
                f"""SELECT CASE WHEN recovered THEN day END AS day, {_FLAGS}, {_STEPS},
              count(*) AS n, sum({_LOCAL}) AS revenue, 1 AS valued
            FROM analytics_order WHERE {_SCOPE} AND ({_LOCAL}) IS NOT NULL
            GROUP BY 1, {_FLAGS}, {_STEPS}""",
                *args,
            )
        )
        foreign_t = reads.create_task(
            sql.rows(
                f"""SELECT day, {_FLAGS}, {_STEPS}, total, currency, presentment_total,
              presentment_currency
            FROM analytics_order WHERE {_SCOPE} AND ({_LOCAL}) IS NULL""",
                *args,
            )
        )
        hours_t = reads.create_task(
            sql.rows(
                f"""SELECT array_agg(EXTRACT(EPOCH FROM placed_at - abandoned_at)) AS seconds
            FROM analytics_order
            WHERE {_SCOPE} AND counts AND recovered AND abandoned_at IS NOT NULL""",
                *args[:3],
            )
        )
        reads.create_task(_read_credits(out, store, days, rng, now, rates))
    groups, foreign = groups_t.result(), foreign_t.result()
    for row in foreign:
        value = order_worth(row, store, rates)
        row.update(n=1, revenue=value, valued=int(value is not None))
    for row in groups + foreign:
        _add_group(out, row, rng.channel)
    out.hours += [float(s) / 3600 for s in hours_t.result()[0]["seconds"] or ()]


_CREDIT = """FROM analytics_order_credit cr JOIN analytics_order o ON o.order_id = cr.order_id
  WHERE cr.store_id = $1 AND cr.day = ANY($2::date[]) AND o.placed_at <= $3 AND o.counts
    AND cr.under = $5"""
_GROUP = "cr.model, cr.flow_id, cr.step_index, cr.channel"


async def _read_credits(
    out: Claims,
    store: Store,
    days: list[date],
    rng: Range,
    now: datetime,
    rates: dict[str, Decimal],
) -> None:
    """The stored flow credits under the range's channel filter, summed like `_read_rolled`."""
    args = (store.id, days, now, store.currency.upper(), rng.channel or "all")
    groups, foreign = await asyncio.gather(
        sql.rows(
            f"""SELECT {_GROUP}, count(*) AS n, sum({_LOCAL}) AS revenue
            {_CREDIT} AND ({_LOCAL}) IS NOT NULL GROUP BY {_GROUP}""",
            *args,
        ),
        sql.rows(
            f"""SELECT {_GROUP}, o.total, o.currency, o.presentment_total, o.presentment_currency
            {_CREDIT} AND ({_LOCAL}) IS NULL""",
            *args,
        ),
    )
    for row in foreign:
        row.update(n=1, revenue=order_worth(row, store, rates))
    for row in groups + foreign:
        credit = out.flows[(row["model"], row["flow_id"], row["step_index"], row["channel"])]
        credit[0] += int(row["n"])
        credit[1] += row["revenue"] or ZERO


def _add_group(out: Claims, row: dict[str, Any], channel: str | None) -> None:
    """What `rules.attribute` does for one order, for a group of identical orders at once."""
    n, revenue = int(row["n"]), row["revenue"] or ZERO
    result = out.result
    if not row["counts"]:
        result.excluded += n
        return
    tallies: list[rules.Tally] = [result.total]
    result.unconverted += 0 if row["valued"] else n
    if row["recovered"]:
        tallies.append(result.recovered)
        won = out.won[row["day"]]
        won[0] += n
        won[1] += revenue
        step = row["step_all"] if channel is None else row[f"step_{channel}"]
        if step is not None:
            out.credit[step][0] += n
            out.credit[step][1] += revenue
    clicks = (
        ("click_sms", "click_email", "click_other") if channel is None else (f"click_{channel}",)
    )
    if any(row[c] for c in clicks):
        tallies.append(result.click)
    messages = ("message_sms", "message_email") if channel is None else (f"message_{channel}",)
    if any(row[m] for m in messages):
        tallies.append(result.message)
    if row["discount"]:
        tallies.append(result.discount)
    for tally in tallies:
        tally.orders += n
        tally.revenue += revenue

"""Compute every dashboard figure for one store and range: the single source for page, API and CSV.

Each figure is computed here and only here, from the counted `inputs`, the `attribution` claims and
the pure `measures`; the API, the dashboard page and the CSV exports all call `for_period`.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from app.analytics import attribution, holdout, inputs, measures, raw, results, rules
from app.analytics.attribution import Claims
from app.analytics.period import CHANNELS, Range, days_between, local_day, parse_range, week_start
from app.analytics.schemas import (
    AttributionOut,
    ChannelRow,
    Conversations,
    FlowResult,
    Funnel,
    HoldoutOut,
    Model,
    Money,
    Period,
    ProductRow,
    SeasonRow,
    StatsOut,
    StepRow,
    TimeToRecovery,
    TrendRow,
    VariantRow,
)
from app.core.errors import ApiError
from app.core.money import quantize
from app.core.timeutil import utcnow
from app.recovery.models import Flow
from app.recovery.rules import policy_from_settings
from app.stores.models import Store

ZERO = Decimal(0)
FAILED = frozenset({"failed", "undelivered"})


def _model(tally: rules.Tally, currency: str) -> Model:
    return Model(orders=tally.orders, revenue=quantize(tally.revenue, currency))


def _attribution_out(result: rules.Attribution, store: Store) -> AttributionOut:
    windows = attribution.windows_of(store)
    hours = {
        name: int(getattr(windows, name).total_seconds() // 3600)
        for name in ("email", "sms", "click", "conversion")
    }
    return AttributionOut(
        currency=store.currency,
        total=_model(result.total, store.currency),
        recovered=_model(result.recovered, store.currency),
        click=_model(result.click, store.currency),
        message=_model(result.message, store.currency),
        discount=_model(result.discount, store.currency),
        excluded_orders=result.excluded,
        unconverted_orders=result.unconverted,
        windows_hours=hours,
    )


def _channels(
    sends: list[dict], click_rows: list[dict], reply_rows: list[dict]
) -> list[ChannelRow]:
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in sends:
        row = table[r["channel"]]
        row["sent"] += int(r["n"])
        row["segments"] += int(r["segments"]) if r["channel"] == "sms" else 0
        row["delivered"] += int(r["n"]) if rules.is_delivered(r["channel"], r["status"]) else 0
        row["failed"] += int(r["n"]) if r["status"] in FAILED else 0
    for r in click_rows:
        if r["channel"]:
            table[r["channel"]]["clicks"] += int(r["clicks"])
    for r in reply_rows:
        table[r["channel"]]["replies"] += int(r["n"])
    return [
        ChannelRow(channel=name, **{k: table[name][k] for k in ChannelRow.__struct_fields__[1:]})
        for name in CHANNELS
        if name in table
    ]


def _steps(
    sends: list[dict], click_rows: list[dict], credited: dict[int, tuple[int, Decimal]]
) -> list[StepRow]:
    table: dict[int, dict[str, Any]] = {}
    by_channel: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in sends:
        if r["step_index"] is None:
            continue
        row = table.setdefault(r["step_index"], defaultdict(int))
        by_channel[r["step_index"]][r["channel"]] += int(r["n"])
        row["sent"] += int(r["n"])
        row["segments"] += int(r["segments"]) if r["channel"] == "sms" else 0
        row["delivered"] += int(r["n"]) if rules.is_delivered(r["channel"], r["status"]) else 0
        row["failed"] += int(r["n"]) if r["status"] in FAILED else 0
    for r in click_rows:
        if r["step_index"] is not None and r["step_index"] in table:
            table[r["step_index"]]["clicks"] += int(r["clicks"])
    # A step index sent on both channels (flows differ, or a step changed channel) is labelled
    # with the channel of most of its sends, ties by name: never by which row came first.
    for step, row in table.items():
        row["channel"] = min(by_channel[step].items(), key=lambda kv: (-kv[1], kv[0]))[0]
    return [
        StepRow(
            step=step + 1,
            channel=row["channel"],
            sent=row["sent"],
            delivered=row["delivered"],
            failed=row["failed"],
            segments=row["segments"],
            clicks=row["clicks"],
            conversions=credited.get(step, (0, ZERO))[0],
            revenue=credited.get(step, (0, ZERO))[1],
        )
        for step, row in sorted(table.items())
    ]


def _credit(claims: Claims, currency: str) -> dict[int, tuple[int, Decimal]]:
    return {k: (n, quantize(v, currency)) for k, (n, v) in claims.credit.items()}


def _variants(rows: list[dict], min_sample: int) -> list[VariantRow]:
    by_step: dict[tuple[int, int, str], list[dict]] = defaultdict(list)
    for r in rows:
        flow = -1 if r["flow_id"] is None else r["flow_id"]
        by_step[(flow, r["step_index"], r["channel"])].append(r)
    out: list[VariantRow] = []
    for (flow, step, channel), arms in sorted(by_step.items()):
        arms.sort(key=lambda r: str(r["variant"] or "a"))
        test = measures.experiment(
            [
                measures.Arm(str(r["variant"] or "a"), int(r["sent"]), int(r["conversions"]))
                for r in arms
            ],
            min_sample=min_sample,
        )
        for c in test.comparisons:
            out.append(
                VariantRow(
                    flow_id=None if flow == -1 else flow,
                    step=step + 1,
                    channel=channel,
                    variant=c.arm.key,
                    sent=c.arm.sent,
                    conversions=c.arm.conversions,
                    rate=c.arm.rate,
                    z=c.z,
                    p_value=c.p_value,
                    enough=c.enough,
                    winner=test.winner == c.arm.key,
                )
            )
    return out


def _holdout(cohorts: Iterable[results.Cohort], store: Store) -> HoldoutOut:
    """Both groups by the same rule: a counted order within the conversion window of abandonment."""
    sizes, wins, worth = [0, 0], [0, 0], [ZERO, ZERO]
    for c in cohorts:
        sizes[c.held] += c.size
        wins[c.held] += c.wins
        worth[c.held] += c.worth

    def group(held: bool) -> measures.Group:
        return measures.Group(sizes[held], wins[held], worth[held])

    messaged, holdout = group(False), group(True)
    result = measures.lift(messaged, holdout)
    cur = store.currency
    return HoldoutOut(
        messaged_size=messaged.size,
        messaged_conversions=messaged.conversions,
        messaged_rate=measures.rate(messaged.conversions, messaged.size),
        holdout_size=holdout.size,
        holdout_conversions=holdout.conversions,
        holdout_rate=measures.rate(holdout.conversions, holdout.size),
        difference=result.difference if result else None,
        low=result.low if result else None,
        high=result.high if result else None,
        confidence=0.95,
        incremental_orders=result.incremental_orders.quantize(Decimal("0.1")) if result else None,
        incremental_revenue=quantize(result.incremental_revenue, cur) if result else None,
        significant=bool(result and result.significant),
    )


def _bucket(rows: list[dict], zone: str) -> dict[date, int]:
    out: dict[date, int] = defaultdict(int)
    for r in rows:
        day = r["day"]
        if isinstance(day, str):
            day = datetime.fromisoformat(day)
        if isinstance(day, datetime):
            day = local_day(day, zone)
        out[day] += int(r["n"])
    return out


def _trends(
    rng: Range,
    abandoned: dict[date, int],
    sent: dict[date, int],
    won: dict[date, list[Any]],
    cur: str,
) -> tuple[list[TrendRow], list[TrendRow]]:
    daily = []
    for day in days_between(rng.start, rng.end):
        count, revenue = won.get(day, (0, ZERO))
        daily.append(
            TrendRow(day, abandoned.get(day, 0), sent.get(day, 0), count, quantize(revenue, cur))
        )
    weeks: dict[date, list[Any]] = {}
    for row in daily:
        week = weeks.setdefault(week_start(row.day), [0, 0, 0, ZERO])
        for i, value in enumerate((row.abandoned, row.messages, row.recovered, row.revenue)):
            week[i] += value
    weekly = [TrendRow(day, *values) for day, values in sorted(weeks.items())]
    return daily, weekly


def _products(rows: list[dict], store: Store, rates: dict[str, Decimal]) -> list[ProductRow]:
    merged: dict[str, list[Any]] = {}
    for r in rows:
        title = str(r["title"] or "Untitled item")[:200]
        row = merged.setdefault(title, [0, 0, ZERO])
        row[0] += int(r["abandoned"])
        row[1] += int(r["quantity"] or 0)
        value = rules.to_store_currency(
            Decimal(str(r["value"] or 0)), r["currency"], store.currency, rates
        )
        row[2] += value or ZERO
    top = sorted(merged.items(), key=lambda kv: (-kv[1][0], -kv[1][2], kv[0]))[:10]
    return [ProductRow(t, n, q, quantize(v, store.currency)) for t, (n, q, v) in top]


def _time_to_recovery(hours: list[float]) -> TimeToRecovery:
    median, p90 = measures.percentile(hours, 0.5), measures.percentile(hours, 0.9)
    return TimeToRecovery(
        count=len(hours),
        median_hours=round(median, 2) if median is not None else None,
        p90_hours=round(p90, 2) if p90 is not None else None,
    )


def _money(sends: list[dict], revenue: Decimal, store: Store) -> Money:
    prices = measures.prices_from_settings((store.settings or {}).get("prices"))
    billable = [r for r in sends if r["status"] != "failed"]
    segments = sum(int(r["segments"]) for r in billable if r["channel"] == "sms")
    emails = sum(int(r["n"]) for r in billable if r["channel"] == "email")
    sms_cost = measures.cost(segments, 0, prices)
    email_cost = measures.cost(0, emails, prices)
    spent = sms_cost + email_cost
    ratio = measures.roi(revenue, spent)
    cur = store.currency
    return Money(
        currency=cur,
        revenue=quantize(revenue, cur),
        cost=spent.quantize(Decimal("0.0001")),
        sms_cost=sms_cost.quantize(Decimal("0.0001")),
        email_cost=email_cost.quantize(Decimal("0.0001")),
        roi=ratio.quantize(Decimal("0.01")) if ratio is not None else None,
    )


async def _seasons(
    store_id: int, start: datetime, end: datetime, channel: str | None
) -> list[SeasonRow]:
    """Sends under peak-season overrides, apart (read raw: seasons are short and rare)."""
    sends = await raw.season_sends(store_id, start, end, channel)
    carts = {r["season"]: r for r in await raw.season_carts(store_id, start, end, channel)}
    table: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for r in sends:
        row = table[r["season"]]
        row["sent"] += int(r["n"])
        row["delivered"] += int(r["n"]) if rules.is_delivered(r["channel"], r["status"]) else 0
        row["failed"] += int(r["n"]) if r["status"] in FAILED else 0
    return [
        SeasonRow(
            season=name,
            sent=row["sent"],
            delivered=row["delivered"],
            failed=row["failed"],
            carts=int((carts.get(name) or {}).get("carts") or 0),
            recovered=int((carts.get(name) or {}).get("recovered") or 0),
        )
        for name, row in sorted(table.items())
    ]


async def for_period(
    store: Store,
    start: str | None,
    end: str | None,
    channel: str | None,
    flow: int | None = None,
) -> StatsOut:
    """The figures for a request's `from`, `to`, `channel` and `flow` (400 on a bad range,
    404 for a flow of another store)."""
    rng = parse_range(store, utcnow(), start, end, channel)
    if flow is not None and not await Flow.exists(id=flow, store_id=store.id):
        raise ApiError(404, "not_found", f"flow: no flow {flow} in this store")
    key = (store.id, rng.start, rng.end, rng.zone, rng.channel, flow)
    task = _in_flight.get(key)
    if task is None:
        global _started
        _started += 1
        task = asyncio.create_task(compute(store, rng, utcnow(), flow=flow))
        _in_flight[key] = task
        task.add_done_callback(lambda _: _in_flight.pop(key, None))
    # Shielded: a viewer who leaves does not cancel the answer the others are waiting for.
    return await asyncio.shield(task)


# Dashboards of one store asking for the same figures at once (a live update reaches all of them
# together) share one computation in this process: it started at most one computation earlier,
# so nobody gets figures older than their own request by more than that.
_in_flight: dict[tuple[Any, ...], asyncio.Task[StatsOut]] = {}
_started = 0


def computations() -> tuple[int, int]:
    """Computations started by this process so far, and running now (diagnostics, tests)."""
    return _started, len(_in_flight)


async def _flow_names(
    store: Store, flow: int | None, seen: list[dict[str, Any]]
) -> list[tuple[int | None, str, str]]:
    """The flows to report: the one asked for, else every flow, and deleted ones if they sent."""
    found = await Flow.filter(store_id=store.id).order_by("id").values_list("id", "name", "trigger")
    named: list[tuple[int | None, str, str]] = [(i, n, t) for i, n, t in found]
    if flow is not None:
        return [f for f in named if f[0] == flow]
    if results.deleted_flow_seen(seen, {f[0] for f in named if f[0] is not None}):
        named.append((None, "Deleted flows", ""))
    return named


def _flows(
    store: Store,
    names: list[tuple[int | None, str, str]],
    rows: dict[str, Any],
    claims: Claims,
    variants: list[VariantRow],
) -> list[FlowResult]:
    return results.build(
        names,
        rows["sends"],
        rows["clicks"],
        rows["cohorts"],
        claims,
        variants,
        lambda found: _holdout(found, store),
        store.currency,
    )


async def compute(
    store: Store, rng: Range, now: datetime, use_rollups: bool = True, flow: int | None = None
) -> StatsOut:
    """Every figure for the range; recovered revenue is the 'recovered' attribution model.

    Clean rolled-up days are read from the rollups and the rest from the raw tables;
    `use_rollups=False` is the raw computation the rollups are tested against.
    """
    start, end = rng.utc
    windows = attribution.windows_of(store)
    settings = store.settings or {}
    policy = policy_from_settings(settings.get("recovery"))
    min_sample = int((settings.get("attribution") or {}).get("min_ab_sample") or 100)
    # Independent reads run concurrently (the pool has room for them): the call costs about as
    # much as its slowest query instead of the sum of a dozen.
    async with asyncio.TaskGroup() as first:
        rates_task = first.create_task(attribution.platform_rates(store))
        plan_task = first.create_task(inputs.plan(store, rng, use_rollups))
    rates, plan = rates_task.result(), plan_task.result()
    async with asyncio.TaskGroup() as tasks:
        claims_t = tasks.create_task(
            attribution.claims(store, plan.rolled, plan.raw, rng, now, rates)
        )
        # The raw intervals' sends read once for `sends` and `variants`, as a rollup is built.
        grouped = tasks.create_task(inputs.send_groups(store, plan, rng.channel))
        sends_t = tasks.create_task(inputs.sends(store, plan, rng.channel, grouped))
        clicks_t = tasks.create_task(raw.clicks(store.id, start, end, rng.channel))
        replies_t = tasks.create_task(raw.replies(store.id, start, end))
        funnel_t = tasks.create_task(inputs.funnel(store, plan, policy.email_requires_consent))
        daily_t = tasks.create_task(inputs.daily(store, plan, rng))
        variants_t = tasks.create_task(inputs.variants(store, plan, rng.channel, grouped))
        holdout_t = tasks.create_task(
            holdout.read(store, plan.rolled, plan.raw, rng.utc, windows.conversion)
        )
        products_t = tasks.create_task(inputs.products(store, plan))
        conversations_t = tasks.create_task(raw.conversations(store.id, start, end))
        seasons_t = tasks.create_task(_seasons(store.id, start, end, rng.channel))
    claims, sends, click_rows = claims_t.result(), sends_t.result(), clicks_t.result()
    reply_rows, funnel_raw = replies_t.result(), funnel_t.result()
    abandoned_days, sent_days = daily_t.result()
    result = claims.result
    if rng.channel:
        reply_rows = [r for r in reply_rows if r["channel"] == rng.channel]
    daily, weekly = _trends(
        rng,
        _bucket(abandoned_days, rng.zone),
        _bucket(sent_days, rng.zone),
        claims.won,
        store.currency,
    )
    clicked = sum(int(r["checkouts"]) for r in click_rows)
    messaged = funnel_raw["messaged"]
    variants = _variants(variants_t.result(), min_sample)
    cohorts = holdout.cohorts(holdout_t.result(), store, rates)
    seen = sends + [{"flow_id": f} for f in {c.flow_id for c in cohorts}]
    names = await _flow_names(store, flow, seen)
    found = {"sends": sends, "clicks": click_rows, "cohorts": cohorts}
    return StatsOut(
        period=Period(rng.start, rng.end, rng.zone, rng.channel),
        funnel=Funnel(
            **funnel_raw,
            clicked=clicked,
            recovered=result.recovered.orders,
            recovery_rate=measures.rate(result.recovered.orders, messaged),
        ),
        attribution=_attribution_out(result, store),
        money=_money(sends, result.recovered.revenue, store),
        channels=_channels(sends, click_rows, reply_rows),
        steps=_steps(sends, click_rows, _credit(claims, store.currency)),
        variants=variants,
        holdout=_holdout(cohorts, store),
        daily=daily,
        weekly=weekly,
        top_products=_products(products_t.result(), store, rates),
        time_to_recovery=_time_to_recovery(claims.hours),
        conversations=Conversations(**conversations_t.result()),
        flows=_flows(store, names, found, claims, variants),
        seasons=seasons_t.result(),
    )

"""Build the rollup of one store-day from the raw tables, in one transaction, safe to run twice at once.

Each store-day is rebuilt whole (never patched), so recomputing is idempotent; an advisory lock
serialises two workers on the same day, and a change marked while we computed keeps the day dirty.
PostgreSQL only (advisory locks, `generate_series`, `clock_timestamp`): on SQLite, the embedded
single-store default, no rollup is built and the figures always read the raw tables (`inputs.plan`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any, TypeVar

from tortoise import Model
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.analytics import attribution, raw, rules, sql
from app.analytics.models import OrderClaim, RollupProduct, RollupSend
from app.analytics.period import day_bounds
from app.analytics.rules import Touch
from app.stores.models import Store

M = TypeVar("M", bound=Model)


def fingerprint(store: Store) -> str:
    """What a rolled-up day depends on beside the raw rows: the zone of its day and the windows."""
    windows = attribution.windows_of(store)
    spans = (windows.email, windows.sms, windows.click)
    return "|".join([store.timezone or "UTC", *(str(int(w.total_seconds())) for w in spans)])


async def _sends(store_id: int, start: datetime, end: datetime) -> list[dict[str, Any]]:
    """The raw `messages` and `variant_conversions` groups in one pass, before their last filters."""
    return await sql.rows(
        f"""SELECT m.channel, m.step_index, m.variant, m.status,
          count(*) AS n, COALESCE(sum(m.segments), 0) AS segments,
          COALESCE(sum(CASE WHEN c.id IS NOT NULL AND m.sent_at IS NOT NULL THEN 1 ELSE 0 END), 0)
            AS tested,
          COALESCE(sum(CASE WHEN c.status = 'recovered' AND c.completed_at >= m.sent_at
            THEN 1 ELSE 0 END), 0) AS conversions
        FROM message m LEFT JOIN checkout c ON c.id = m.checkout_id
        WHERE m.store_id = $1 AND {raw.AUTOMATION} AND m.created_at >= $2 AND m.created_at < $3
          AND m.status NOT IN {raw.NOT_SENT}
        GROUP BY m.channel, m.step_index, m.variant, m.status""",
        store_id,
        start,
        end,
    )


def _last_steps(rows: list[dict[str, Any]], placed_at: datetime) -> dict[str, int | None]:
    """The step credited under each channel filter: the last automated send before the order."""
    filters = (("step_all", None), ("step_sms", "sms"), ("step_email", "email"))
    return {name: attribution.last_step(rows, placed_at, ch) for name, ch in filters}


async def _claims(store: Store, day: date, start: datetime, end: datetime) -> list[OrderClaim]:
    windows = attribution.windows_of(store)
    found = await attribution.evidence(store, start, end, None, {})
    if not found.rows:
        return []
    rows, facts, issued = found.rows, found.facts, found.issued
    index: dict[str, list[tuple[Touch, str | None]]] = defaultdict(list)
    for pair in found.touches:
        for key in pair[0].keys:
            index[key].append(pair)
    won = [f for f in facts if rules.recovered(f)]
    steps = await attribution.last_steps_by_checkout(store, won)
    claims = []
    for fact, row in zip(facts, rows, strict=True):
        mine = [p for key in fact.keys for p in index.get(key, ())]
        recovered = rules.recovered(fact)
        credit = _last_steps(steps.get(attribution.checkout_of(fact) or -1, []), fact.placed_at)
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
    return claims


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


async def _products(store_id: int, start: datetime, end: datetime) -> list[RollupProduct]:
    return [
        RollupProduct(
            store_id=store_id,
            title=r["title"],
            currency=r["currency"],
            abandoned=int(r["abandoned"]),
            quantity=int(r["quantity"] or 0),
            value=r["value"] or 0,
        )
        for r in await raw.products(store_id, start, end)
    ]


async def _counters(store_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """The analytics_day counters, named as its columns: one funnel pass gives both reachables."""
    return await raw.funnel(store_id, start, end)


async def begin_build(store_id: int, day: date) -> datetime:
    """Record, committed before reading, when this rebuild began: a mark after it must write
    (see changes._MARK), one before it may rely on the rebuild to read its change."""
    found = await sql.rows(
        """WITH started AS (
          UPDATE analytics_day SET build_started_at = clock_timestamp()
          WHERE store_id = $1 AND day = $2 RETURNING build_started_at
        ) SELECT COALESCE((SELECT build_started_at FROM started), clock_timestamp()) AS t""",
        store_id,
        day,
    )
    return found[0]["t"]


async def recompute_day(store: Store, day: date) -> bool:
    """Rebuild one store-day; False on SQLite, where the stats always read the raw tables."""
    if not sql.is_postgres():
        return False
    start, end = day_bounds(day, store.timezone or "UTC")
    began = await begin_build(store.id, day)  # committed on its own, before anything is read
    async with in_transaction() as conn:
        await conn.execute_query(
            "SELECT pg_advisory_xact_lock($1, $2)", [store.id, day.toordinal()]
        )
        counters = await _counters(store.id, start, end)
        sends = [
            RollupSend(store_id=store.id, day=day, **r) for r in await _sends(store.id, start, end)
        ]
        products = await _products(store.id, start, end)
        claims = await _claims(store, day, start, end)
        for model in (RollupSend, RollupProduct, OrderClaim):
            await model.filter(store_id=store.id, day=day).using_db(conn).delete()
        # An order whose day moved (a new zone, a corrected time) is claimed by its new day only.
        moved = [c.order_id for c in claims]
        await OrderClaim.filter(order_id__in=moved).using_db(conn).delete()
        for product in products:
            product.day = day
        await _insert(RollupSend, sends, conn)
        await _insert(RollupProduct, products, conn)
        await _insert(OrderClaim, claims, conn)
        await _save_day(conn, store, day, counters, began)
    return True


async def _insert(model: type[M], objs: Sequence[M], conn: BaseDBAsyncClient) -> None:
    if objs:
        await model.bulk_create(objs, batch_size=1000, using_db=conn)


async def _save_day(
    conn: BaseDBAsyncClient, store: Store, day: date, counters: dict[str, int], began: datetime
) -> None:
    """Clean unless someone marked the day after we began reading: their change may be unseen."""
    names = list(counters)
    marks = ", ".join(f"${i + 5}" for i in range(len(names)))
    sets = ", ".join(f"{n} = EXCLUDED.{n}" for n in names)
    await conn.execute_query(
        f"""INSERT INTO analytics_day (store_id, day, fingerprint, computed_at, dirty_at, {", ".join(names)})
        VALUES ($1, $2, $3, now(), NULL, {marks})
        ON CONFLICT (store_id, day) DO UPDATE SET fingerprint = $3, computed_at = now(), {sets},
          dirty_at = CASE WHEN analytics_day.dirty_at > $4 THEN analytics_day.dirty_at END""",
        [store.id, day, fingerprint(store), began, *counters.values()],
    )

"""Build the rollup of one store-day from the raw tables, in one transaction, safe to run twice at once.

Each store-day is rebuilt whole (never patched), so recomputing is idempotent; an advisory lock
serialises two workers on the same day, and a change marked while we computed keeps the day dirty.
PostgreSQL only (advisory locks, `generate_series`, `clock_timestamp`): on SQLite, the embedded
single-store default, no rollup is built and the figures always read the raw tables (`inputs.plan`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import TypeVar

from tortoise import Model
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from app.analytics import attribution, holdout, raw, sql
from app.analytics.models import (
    OrderClaim,
    OrderCredit,
    RollupClaim,
    RollupCredit,
    RollupHoldout,
    RollupProduct,
    RollupSend,
)
from app.analytics.period import day_bounds
from app.stores.models import Store

M = TypeVar("M", bound=Model)


def fingerprint(store: Store) -> str:
    """What a rolled-up day depends on beside the raw rows: the zone of its day and the windows."""
    windows = attribution.windows_of(store)
    spans = (windows.email, windows.sms, windows.click, windows.conversion)
    return "|".join([store.timezone or "UTC", *(str(int(w.total_seconds())) for w in spans)])


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
            RollupSend(store_id=store.id, day=day, **r)
            for r in await raw.send_groups(store.id, start, end)
        ]
        products = await _products(store.id, start, end)
        claims, credits = await attribution.day_claims(store, day, start, end)
        window = attribution.windows_of(store).conversion
        entries = holdout.tally(await raw.holdout_rows(store.id, start, end, carts=True), window)
        held = [RollupHoldout(store_id=store.id, day=day, **t) for t in entries]
        grouped = attribution.group_claims(store.id, day, claims)
        credited = attribution.group_credits(store.id, day, claims, credits)
        tables = (RollupSend, RollupProduct, RollupHoldout, OrderClaim, OrderCredit)
        for model in (*tables, RollupClaim, RollupCredit):
            await model.filter(store_id=store.id, day=day).using_db(conn).delete()
        await _moved_away(conn, store.id, day, [c.order_id for c in claims])
        for product in products:
            product.day = day
        await _insert(RollupSend, sends, conn)
        await _insert(RollupProduct, products, conn)
        await _insert(RollupHoldout, held, conn)
        await _insert(OrderClaim, claims, conn)
        await _insert(OrderCredit, credits, conn)
        await _insert(RollupClaim, grouped, conn)
        await _insert(RollupCredit, credited, conn)
        await _save_day(conn, store, day, counters, began)
    return True


async def _moved_away(
    conn: BaseDBAsyncClient, store_id: int, day: date, order_ids: list[int]
) -> None:
    """An order whose day moved (a new zone, a corrected time) is claimed by its new day only: its
    claims leave the old day, and the old day's groups, which still count it, are dirty."""
    if not order_ids:
        return
    await conn.execute_query(
        """UPDATE analytics_day SET dirty_at = clock_timestamp()
        WHERE store_id = $1 AND day IN (
          SELECT DISTINCT day FROM analytics_order
          WHERE order_id = ANY($2::bigint[]) AND store_id = $1 AND day <> $3)""",
        [store_id, order_ids, day],
    )
    await OrderClaim.filter(order_id__in=order_ids).using_db(conn).delete()
    await OrderCredit.filter(order_id__in=order_ids).using_db(conn).delete()


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

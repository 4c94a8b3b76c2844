"""Time-based triggers at scale: find today's due contacts among 1,000,000 with a history.

    .venv/bin/python -m bench.due --database postgres://postgres@127.0.0.1:5432/bench_due \
        --contacts 1000000 --runs 20

Seeds one store's contacts and their `contact_history` rows with SQL (orders over three years,
birthdays over the coming year), then, for each timed trigger, times the app's own query for one
day's pass (`app.recovery.flows.due_for_flow`, through the ORM) against a bare indexed query with
the same bounds over asyncpg, in the same run, and a full read of the store's histories (what
evaluating every contact each day would have to do). Prints p50/p95, the ratio app/bare and the
plan PostgreSQL chose. Never run it against a database you care about: it drops the schema.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from bench._setup import bench_env, fresh_store

NOW = datetime(2026, 6, 1, 6, 0, tzinfo=UTC)
FLOWS = (
    ("contact.lapsed", {"days": 90}),
    ("order.first_placed", {"days": 30}),
    ("contact.birthday", {}),
)


def _env(database: str) -> dict[str, str]:
    return bench_env(database, redis_db=8)


async def prepare(database: str) -> int:
    store_id, _ = await fresh_store(_env(database), "bench-due.myshopify.com")
    return store_id


SEED_CONTACTS = """
INSERT INTO contact (store_id, email, email_consent, sms_consent, tags, created_at, updated_at)
SELECT $1, 'c' || g || '@example.com', false, false, '[]', $2, $2
FROM generate_series(1, $3) AS g
"""
# Orders over the past three years; the first order up to a year before the last (the same one
# for one contact in seven); a birthday for two contacts in three, its next 09:00 (any zone's
# offset) somewhere between yesterday and a year from now.
SEED_HISTORY = """
INSERT INTO contact_history (store_id, contact_id, orders_count, total_spent, currency,
    first_order_at, last_order_at, birthday, birthday_due_at, subscribed, updated_at)
SELECT c.store_id, c.id, 1 + (c.id % 7), (c.id % 900) + 0.99, 'USD',
    CASE WHEN c.id % 7 = 0 THEN l.last_at ELSE l.last_at - (random() * interval '365 days') END,
    l.last_at,
    CASE WHEN c.id % 3 <> 0 THEN DATE '1990-01-01' + (c.id % 365)::int END,
    CASE WHEN c.id % 3 <> 0
        THEN $2::timestamptz - interval '1 day' + (random() * interval '365 days') END,
    c.id % 2 = 0, $2::timestamptz
FROM contact c CROSS JOIN LATERAL (
    SELECT $2::timestamptz - (random() * interval '1095 days') AS last_at WHERE c.id > 0
) l
WHERE c.store_id = $1
"""


async def seed(database: str, store_id: int, contacts: int) -> float:
    started = time.perf_counter()
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("SELECT setseed(0.15)")
        await conn.execute(SEED_CONTACTS, store_id, NOW, contacts)
        await conn.execute(SEED_HISTORY, store_id, NOW)
        await conn.execute("ANALYZE contact_history")
    finally:
        await conn.close()
    return time.perf_counter() - started


async def seeded_store(database: str) -> int:
    conn = await asyncpg.connect(database)
    try:
        found = await conn.fetchval("SELECT id FROM store WHERE domain = 'bench-due.myshopify.com'")
    finally:
        await conn.close()
    if found is None:
        raise SystemExit("nothing seeded yet: run once without --reuse")
    return int(found)


async def timed(runs: int, work: Callable[[], Awaitable[Any]]) -> tuple[list[float], Any]:
    result: Any = None
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        result = await work()
        samples.append((time.perf_counter() - started) * 1000)
    return samples, result


def line(label: str, samples: list[float], found: int) -> str:
    p50 = statistics.median(samples)
    p95 = sorted(samples)[max(0, int(len(samples) * 0.95) - 1)]
    return f"{label:<44} p50 {p50:9.2f} ms  p95 {p95:9.2f} ms  rows {found:>9,}"


async def measure(database: str, store_id: int, runs: int) -> None:
    from app.config import load_settings, use_settings
    from app.core.db import close_db, init_db
    from app.recovery import triggers
    from app.recovery.flows import due_for_flow
    from app.recovery.models import Flow

    settings = load_settings(_env(database))
    use_settings(settings)
    await init_db(settings)
    conn = await asyncpg.connect(database)
    since = NOW - timedelta(days=1)
    try:
        for name, params in FLOWS:
            flow = Flow(store_id=store_id, name=name, trigger=name, trigger_params=params)
            column, after, upto = triggers.due_range(name, params, since, NOW)
            bare_sql = (
                f"SELECT contact_id FROM contact_history WHERE store_id = $1 "
                f"AND {column} > $2 AND {column} <= $3 ORDER BY {column}, id"
            )
            app_ms, found = await timed(runs, lambda flow=flow: due_for_flow(flow, since, NOW))
            bare_ms, rows = await timed(
                runs, lambda sql=bare_sql, a=after, u=upto: conn.fetch(sql, store_id, a, u)
            )
            assert sorted(found) == sorted(r["contact_id"] for r in rows)
            plan = await conn.fetch("EXPLAIN " + bare_sql, store_id, after, upto)
            print(f"\n{name} {params}: {column} in ({after:%Y-%m-%d %H:%M}, {upto:%Y-%m-%d %H:%M}]")
            scans = [r[0].strip(" ->") for r in plan if "Scan" in r[0]]
            print("  plan:", plan[0][0].strip(), "|", scans[0] if scans else "")
            print("  " + line("app: due_for_flow (ORM)", app_ms, len(found)))
            print("  " + line("baseline: bare indexed query (asyncpg)", bare_ms, len(rows)))
            ratio = statistics.median(app_ms) / statistics.median(bare_ms)
            print(f"  ratio p50 app/baseline: {ratio:.2f}x")
        scan_sql = "SELECT contact_id, last_order_at FROM contact_history WHERE store_id = $1"
        scan_ms, everyone = await timed(max(1, runs // 5), lambda: conn.fetch(scan_sql, store_id))
        print("\nreference, what a daily scan would read:")
        print("  " + line("every history row of the store", scan_ms, len(everyone)))
    finally:
        await conn.close()
        await close_db()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", required=True, help="a PostgreSQL URL; its schema is dropped")
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--reuse", action="store_true", help="measure an already seeded database")
    args = parser.parse_args()

    async def run() -> None:
        if args.reuse:
            store_id = await seeded_store(args.database)
        else:
            store_id = await prepare(args.database)
            seconds = await seed(args.database, store_id, args.contacts)
            print(f"seeded {args.contacts:,} contacts with histories in {seconds:.0f} s")
        load = os.getloadavg()
        print(f"load average at start: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} (2 cores)")
        await measure(args.database, store_id, args.runs)

    asyncio.run(run())


if __name__ == "__main__":
    main()

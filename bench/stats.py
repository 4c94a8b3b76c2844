"""Seed checkouts and messages into PostgreSQL with COPY, then time GET /api/v1/stats over real HTTP.

    .venv/bin/python -m bench.stats --database postgres://postgres@127.0.0.1:5432/bench_stats \
        --checkouts 1000000 --messages 5000000 --port 9590

Prints p50/p95 of the 90-day stats call and of a baseline (a trivial endpoint, same server, same
run), and their ratio. Never run it against a database you care about: it drops the schema.
Every checkout is enrolled (10 % held out) in one of two flows and its messages carry the
enrollment, so the per-flow results (`flows` in the answer) have work to do; `--flow` also times
`?flow=ID` and one page of that flow's recipients.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import httpx
from rich.progress import Progress

from bench._setup import bench_env, fresh_store

CHUNK = 50_000

# Columns each COPY fills; every NOT NULL column of the model must be here (COPY applies no ORM
# defaults): tests/unit/test_bench_columns.py checks it against the models.
CHECKOUT_COLUMNS = (
    "id",
    "store_id",
    "platform",
    "token",
    "email",
    "line_items",
    "currency",
    "total",
    "status",
    "last_activity_at",
    "abandoned_at",
    "recovery_contacted_at",
    "completed_at",
    "created_at",
    "updated_at",
    "subtotal",
    "total_discounts",
    "total_shipping",
    "total_tax",
    "discount_codes",
    "device",
)
ORDER_COLUMNS = (
    "id",
    "store_id",
    "checkout_id",
    "external_id",
    "currency",
    "total",
    "placed_at",
    "financial_status",
    "placed",
    "created_at",
    "updated_at",
    "discount_codes",
)
MESSAGE_COLUMNS = (
    "id",
    "store_id",
    "checkout_id",
    "enrollment_id",
    "step_index",
    "variant",
    "channel",
    "direction",
    "author",
    "to_address",
    "body",
    "segments",
    "status",
    "idempotency_key",
    "created_at",
    "sent_at",
    "delivered_at",
    "updated_at",
    "media_urls",
    "attachments",
)

ENROLLMENT_COLUMNS = (
    "id",
    "store_id",
    "checkout_id",
    "flow_id",
    "status",
    "next_step",
    "attempts",
    "abandoned_at",
    "enrolled_at",
    "updated_at",
    "trigger",
    "transactional",
)


def _env(database: str) -> dict[str, str]:
    return bench_env(database, redis_db=6)


async def prepare(database: str) -> tuple[int, str]:
    return await fresh_store(_env(database), "bench.myshopify.com", timezone="America/New_York")


async def analyze(database: str) -> None:
    """What autovacuum does after a bulk load; without it the planner guesses 1 row for 30,000."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def reuse(database: str) -> tuple[int, str]:
    """Measure again on an already seeded database: a fresh API token for the bench store."""
    from app.core.security import new_token, token_digest

    conn = await asyncpg.connect(database)
    try:
        store_id = await conn.fetchval("SELECT id FROM store WHERE domain = 'bench.myshopify.com'")
        if store_id is None:
            raise SystemExit("nothing seeded yet: run once without --reuse")
        token = new_token("fu_sk")
        await conn.execute(
            "UPDATE store SET api_token_digest = $1 WHERE id = $2", token_digest(token), store_id
        )
    finally:
        await conn.close()
    return int(store_id), token


FLOW_COLUMNS = (
    "store_id",
    "name",
    "enabled",
    "trigger",
    "trigger_params",
    "transactional",
    "holdout_percent",
    "auto_promote",
    "sold_out",
    "seasons",
    "created_at",
    "updated_at",
)


async def _flows(conn: asyncpg.Connection, store_id: int, now: datetime) -> list[int]:
    found = []
    marks = ", ".join(f"${i + 1}" for i in range(len(FLOW_COLUMNS)))
    insert = f"INSERT INTO recovery_flow ({', '.join(FLOW_COLUMNS)}) VALUES ({marks}) RETURNING id"
    for name, trigger in (("Carts", "checkout.abandoned"), ("Win back", "contact.lapsed")):
        values = (store_id, name, True, trigger, "{}", False, 10, False, "omit", "[]", now, now)
        found.append(await conn.fetchval(insert, *values))
    return found


async def _enroll(
    conn: asyncpg.Connection, store_id: int, rows: list[tuple], flows: list[int], rnd: random.Random
) -> None:
    """One enrollment per checkout (its id = the checkout's), in either flow, 10 % held out."""
    await conn.copy_records_to_table(
        "recovery_enrollment",
        records=[
            (
                r[0],
                store_id,
                r[0],
                flows[r[0] % len(flows)],
                "holdout" if rnd.random() < 0.1 else "completed",
                4,
                0,
                r[10],
                r[10],
                r[10],
                "checkout.abandoned",
                False,
            )
            for r in rows
        ],
        columns=list(ENROLLMENT_COLUMNS),
    )


YEAR = 365 * 86400
# A send goes out within this many seconds of its cart's abandonment (time-ordered seed).
LAG = 3 * 86400


def _moment(now: datetime, i: int, count: int, rnd: random.Random, in_order: bool) -> datetime:
    """Row `i` of `count` spread over the year up to `now`: in id order, as production writes rows
    (a later id is a later moment), or anywhere in the year (the older, random-order seed)."""
    if in_order:
        return now - timedelta(seconds=YEAR * (count - i - rnd.random()) / count)
    return now - timedelta(seconds=rnd.randint(0, YEAR))


def _cart_of(
    now: datetime, at: datetime, checkouts: int, rnd: random.Random, in_order: bool
) -> int:
    """The checkout a send at `at` goes to: one abandoned up to `LAG` before it (time order), or
    any checkout of the year (random order)."""
    if not in_order:
        return rnd.randint(1, checkouts)
    before = (now - at).total_seconds() + rnd.uniform(0, LAG)
    return min(checkouts, max(1, int(checkouts * (1 - before / YEAR))))


async def seed(
    database: str, store_id: int, checkouts: int, messages: int, in_order: bool = True
) -> None:
    """`in_order`: ids ascend with time in every table (the default, as production writes them);
    else rows land anywhere in the year, so a day's sends are spread over the whole table."""
    rnd = random.Random(7)
    now = datetime.now(UTC)
    conn = await asyncpg.connect(database)
    flows = await _flows(conn, store_id, now)
    items = json.dumps(
        [{"title": f"Product {i}", "quantity": 1, "line_total": "40.00"} for i in range(2)]
    )
    with Progress() as progress:
        task = progress.add_task("checkouts", total=checkouts)
        for start in range(0, checkouts, CHUNK):
            rows = []
            for i in range(start, min(start + CHUNK, checkouts)):
                at = _moment(now, i, checkouts, rnd, in_order)
                recovered = rnd.random() < 0.12
                rows.append(
                    (
                        i + 1,
                        store_id,
                        "shopify",
                        uuid.uuid4().hex,
                        f"s{i}@example.com",
                        items,
                        "USD",
                        Decimal("80.00"),
                        "recovered" if recovered else "abandoned",
                        at,
                        at,
                        at + timedelta(minutes=15),
                        at + timedelta(hours=5) if recovered else None,
                        at,
                        at,
                        Decimal("80.00"),
                        Decimal(0),
                        Decimal(0),
                        Decimal(0),
                        "[]",
                        "desktop",
                    )
                )
            await conn.copy_records_to_table(
                "checkout",
                records=rows,
                columns=list(CHECKOUT_COLUMNS),
            )
            orders = [
                (
                    r[0],
                    store_id,
                    r[0],
                    str(r[0]),
                    "USD",
                    Decimal("80.00"),
                    r[12],
                    "paid",
                    True,
                    r[12],
                    r[12],
                    "[]",
                )
                for r in rows
                if r[12] is not None
            ]
            await conn.copy_records_to_table(
                "order",
                records=orders,
                columns=list(ORDER_COLUMNS),
            )
            await _enroll(conn, store_id, rows, flows, rnd)
            progress.advance(task, len(rows))
        task = progress.add_task("messages", total=messages)
        for start in range(0, messages, CHUNK):
            rows = []
            for i in range(start, min(start + CHUNK, messages)):
                at = _moment(now, i, messages, rnd, in_order)
                checkout = _cart_of(now, at, checkouts, rnd, in_order)
                sms = rnd.random() < 0.3
                rows.append(
                    (
                        i + 1,
                        store_id,
                        checkout,
                        checkout,
                        rnd.randint(0, 3),
                        "a" if rnd.random() < 0.5 else "b",
                        "sms" if sms else "email",
                        "outbound",
                        "automation",
                        "x",
                        "Your cart",
                        2 if sms else 0,
                        "delivered" if sms else "sent",
                        f"b:{i}",
                        at,
                        at,
                        at if sms else None,
                        at,
                        "[]",
                        "[]",
                    )
                )
            await conn.copy_records_to_table(
                "message",
                records=rows,
                columns=list(MESSAGE_COLUMNS),
            )
            progress.advance(task, len(rows))
    await conn.execute("ANALYZE")
    await conn.close()


async def build_rollups(database: str, store_id: int) -> float:
    """What the worker does for a new store: every day of the longest range, rebuilt from raw."""
    from app.analytics import jobs
    from app.config import load_settings, use_settings
    from app.core.db import close_db, init_db
    from app.stores.models import Store

    settings = load_settings(_env(database))
    use_settings(settings)
    await init_db(settings)
    began = time.perf_counter()
    store = await Store.get(id=store_id)
    await jobs.cover(store)
    with Progress() as progress:
        task = progress.add_task("rollups", total=len(await jobs.days_to_build(store, 10_000)))
        while done := await jobs.build(store, limit=10):
            progress.advance(task, done)
    await close_db()
    return time.perf_counter() - began


async def timed(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], runs: int
) -> list[float]:
    out = []
    for _ in range(runs):
        began = time.perf_counter()
        response = await client.get(url, headers=headers)
        response.raise_for_status()
        out.append((time.perf_counter() - began) * 1000)
    return out


def _p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100)[int(q * 100) - 1] if len(values) > 1 else values[0]


async def _flow_id(database: str) -> int | None:
    conn = await asyncpg.connect(database)
    try:
        found = await conn.fetchval("SELECT min(id) FROM recovery_flow WHERE name = 'Carts'")
    except asyncpg.UndefinedTableError:
        found = None
    finally:
        await conn.close()
    return found


async def _dirty(database: str, days: int) -> None:
    """Mark the store's latest `days` local days dirty (0: all clean again). Nothing changed in
    the raw rows, so clearing the mark restores exactly the rollups that were built."""
    conn = await asyncpg.connect(database)
    try:
        await conn.execute("UPDATE analytics_day SET dirty_at = NULL")
        if days:
            await conn.execute(
                """UPDATE analytics_day SET dirty_at = now()
                WHERE day > (SELECT max(day) FROM analytics_day) - $1::int""",
                days,
            )
    finally:
        await conn.close()


async def crowd(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], runs: int, users: int
) -> list[float]:
    """`users` dashboards asking at once, `runs` calls in all: every call's own latency."""
    share = [runs // users + (1 if i < runs % users else 0) for i in range(users)]
    found = await asyncio.gather(*(timed(client, url, headers, n) for n in share if n))
    return [t for one in found for t in one]


async def measure(
    database: str,
    token: str,
    port: int,
    runs: int,
    flow: bool = False,
    dirty: tuple[int, ...] = (),
    users: int = 1,
) -> tuple[float, float]:
    import uvicorn

    from app.config import load_settings
    from app.server import create_app

    app = create_app(load_settings(_env(database)))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    base = f"http://127.0.0.1:{port}"
    auth = {"Authorization": f"Bearer {token}"}
    end = datetime.now(UTC).date()
    query = f"/api/v1/stats?from={end - timedelta(days=89)}&to={end}"
    async with httpx.AsyncClient(timeout=120) as client:
        await timed(client, base + query, auth, 1)  # warm caches
        baseline = await timed(client, base + "/healthz", {}, runs)
        stats = await timed(client, base + query, auth, runs)
        picked = await _flow_id(database) if flow else None
        extra = {}
        if picked is not None:
            one = f"{query}&flow={picked}"
            page = f"/api/v1/flows/{picked}/recipients?from={end - timedelta(days=89)}&to={end}"
            extra["stats ?flow=ID"] = await timed(client, base + one, auth, runs)
            extra["recipients page"] = await timed(client, base + page, auth, runs)
        for days in dirty:  # the normal state while messages go out: today (and more) dirty
            await _dirty(database, days)
            await timed(client, base + query, auth, 1)
            extra[f"stats, {days} day(s) dirty"] = await timed(client, base + query, auth, runs)
            if users > 1:
                name = f"{users} users, {days} dirty"
                extra[name] = await crowd(client, base + query, auth, runs, users)
        if dirty:
            await _dirty(database, 0)
        if users > 1:
            extra[f"{users} users, all clean"] = await crowd(
                client, base + query, auth, runs, users
            )
    server.should_exit = True
    await task
    print(
        f"baseline /healthz      p50 {_p(baseline, 0.5):8.1f} ms  p95 {_p(baseline, 0.95):8.1f} ms"
    )
    print(f"/api/v1/stats 90 days  p50 {_p(stats, 0.5):8.1f} ms  p95 {_p(stats, 0.95):8.1f} ms")
    print(f"ratio p50 stats/baseline: {_p(stats, 0.5) / _p(baseline, 0.5):.1f}x")
    for name, found in extra.items():
        print(f"{name:22} p50 {_p(found, 0.5):8.1f} ms  p95 {_p(found, 0.95):8.1f} ms")
        print(f"ratio p50 {name}/baseline: {_p(found, 0.5) / _p(baseline, 0.5):.1f}x")
    return _p(stats, 0.5), _p(stats, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/bench_stats")
    parser.add_argument("--checkouts", type=int, default=1_000_000)
    parser.add_argument("--messages", type=int, default=5_000_000)
    parser.add_argument("--port", type=int, default=9590)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--raw-runs", type=int, default=3, help="calls timed before the rollups exist (0 to skip)"
    )
    parser.add_argument(
        "--reuse", action="store_true", help="skip seeding: time the seeded database again"
    )
    parser.add_argument(
        "--flow", action="store_true", help="also time ?flow=ID and a page of its recipients"
    )
    parser.add_argument(
        "--dirty",
        type=int,
        action="append",
        default=[],
        help="also time with the latest N days dirty (repeatable: --dirty 1 --dirty 2)",
    )
    parser.add_argument(
        "--random-order",
        action="store_true",
        help="seed rows anywhere in the year instead of in time order (ids ascending with time)",
    )
    parser.add_argument(
        "--users", type=int, default=1, help="dashboards asking at once (the runs are shared)"
    )
    args = parser.parse_args()
    name = args.database.rstrip("/").rsplit("/", 1)[-1].split("?", 1)[0]
    if "bench" not in name.split("_"):
        parser.error(
            "refusing to drop a database whose name has no `bench` part (bench_stats, stats_bench)"
        )

    async def run() -> None:
        if args.reuse:
            _, token = await reuse(args.database)
            print("with rollups (reused seed):")
            await measure(
                args.database, token, args.port, args.runs, args.flow, tuple(args.dirty), args.users
            )
            return
        store_id, token = await prepare(args.database)
        began = time.perf_counter()
        await seed(args.database, store_id, args.checkouts, args.messages, not args.random_order)
        print(
            f"seeded {args.checkouts:,} checkouts and {args.messages:,} messages in {time.perf_counter() - began:.0f} s"
        )
        if args.raw_runs:
            print("before rollups (every figure from the raw tables):")
            await measure(args.database, token, args.port, args.raw_runs)
        print(f"rollups built in {await build_rollups(args.database, store_id):.0f} s")
        await analyze(args.database)
        print("with rollups:")
        await measure(
            args.database, token, args.port, args.runs, args.flow, tuple(args.dirty), args.users
        )

    asyncio.run(run())


if __name__ == "__main__":
    main()

"""PostgreSQL's CPU per stored webhook: the capture path's write with pglz and with LZ4 bodies.

    .venv/bin/python -m bench.capture_write [--rows 4000] [--batch 8] [--rounds 3]

Calls the app's own batch write (`app.ingest.storage.write_postgres`, the statement every
acknowledged Shopify webhook waits for) on a migrated database, `--batch` distinct signed checkout
bodies at a time, and measures the CPU of the PostgreSQL sessions serving it (psutil, user +
system) per row, this process's CPU per row, the wall time per row and the stored size of a body.
Side by side in one run, alternating rounds: `raw_event.body` compressed with pglz (PostgreSQL's
default) and with LZ4 (migration core 0016). CPU time stays meaningful on a busy machine, where
wall-clock rates do not.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from pathlib import Path

import uvloop

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.ingest import Signed, database_sessions, sessions_cpu  # noqa: E402
from bench.ingest_path import migrated_store  # noqa: E402

METHODS = ("pglz", "lz4")


def options() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--rows", type=int, default=4000, help="rows per round and method")
    p.add_argument("--batch", type=int, default=8, help="rows per statement (group commit size)")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument(
        "--database-url", default="postgres://postgres@127.0.0.1:5432/bench_capture_write"
    )
    return p.parse_args()


async def main() -> None:
    args = options()
    store = await migrated_store(args.database_url, "redis://127.0.0.1:6379/9")
    from tortoise import connections

    from app.core.db import close_db
    from app.ingest.models import Source
    from app.ingest.services import Delivery, _row, fingerprint
    from app.ingest.storage import write_postgres

    db = connections.get("default")
    signed = Signed("checkouts/update", uuid.uuid4().hex[:8])
    counter = iter(range(10**9))

    def rows(n: int) -> list:
        out = []
        for _ in range(n):
            body, _signature = signed.body(next(counter))
            delivery = Delivery(
                source=Source.SHOPIFY,
                topic="checkouts/update",
                delivery_id=uuid.uuid4().hex,
                event_id=uuid.uuid4().hex,
                body=body,
                headers={"x-shopify-topic": "checkouts/update"},
                fingerprint=fingerprint(b"checkouts/update", body),
            )
            out.append(_row(store.id, delivery, None))
        return out

    async def measure(method: str) -> tuple[float, float, float, float]:
        await db.execute_script(f"ALTER TABLE raw_event ALTER COLUMN body SET COMPRESSION {method}")
        prepared = rows(args.rows)
        sessions = await database_sessions(args.database_url)
        first = await db.execute_query_dict("SELECT coalesce(max(id), 0) AS id FROM raw_event")
        server, client, wall = sessions_cpu(sessions), time.process_time(), time.perf_counter()
        for start in range(0, len(prepared), args.batch):
            await write_postgres(prepared[start : start + args.batch])
        wall = (time.perf_counter() - wall) / args.rows * 1e6
        client = (time.process_time() - client) / args.rows * 1e6
        server = (sessions_cpu(sessions) - server) / args.rows * 1e6
        [size] = await db.execute_query_dict(
            "SELECT avg(pg_column_size(body)) AS bytes, min(pg_column_compression(body)) AS m,"
            " max(pg_column_compression(body)) AS n FROM raw_event WHERE id > $1",
            [first[0]["id"]],
        )
        assert size["m"] == size["n"] == method, (
            f"stored with {size['m']}/{size['n']}, not {method}"
        )
        return server, client, wall, float(size["bytes"])

    print(
        f"capture write: {args.rows} rows per round, {args.batch} a statement, {args.rounds} rounds,"
        f" load average {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    await write_postgres(rows(500))  # warm-up: connection, plan, first pages
    figures: dict[str, list[tuple[float, float, float, float]]] = {m: [] for m in METHODS}
    for round_ in range(args.rounds):
        for method in METHODS if round_ % 2 == 0 else reversed(METHODS):
            server, client, wall, size = await measure(method)
            figures[method].append((server, client, wall, size))
            print(
                f"  round {round_ + 1} {method:<5} PostgreSQL {server:6.1f} us/row   this process"
                f" {client:5.1f} us/row   wall {wall:6.1f} us/row   body stored in {size:5.0f} bytes",
                flush=True,
            )
    median = {m: [statistics.median(f[i] for f in figures[m]) for i in range(4)] for m in METHODS}
    pglz, lz4 = median["pglz"], median["lz4"]
    print(
        f"  median: PostgreSQL CPU per row pglz {pglz[0]:.1f} us, lz4 {lz4[0]:.1f} us"
        f" ({lz4[0] / pglz[0]:.2f}x); wall per row {lz4[2] / pglz[2]:.2f}x;"
        f" stored body {lz4[3] / pglz[3]:.2f}x the bytes; load average after"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    await close_db()


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())

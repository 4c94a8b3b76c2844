"""App CPU per signed Shopify webhook, the app called in this process (no HTTP server, no client).

    .venv/bin/python -m bench.ingest_path [--requests 4000] [--concurrency 64] [--profile 30]

Calls each ASGI app directly with a minimal HTTP scope, `--concurrency` requests at a time, and
divides this process's CPU time (`time.process_time`, user + system) by the requests answered.
Side by side in one run: FollowUp, the like-for-like insert endpoint and the bare endpoint of
bench/_baseline.py. PostgreSQL's own CPU is not in these figures (it runs in its own processes),
so they isolate what the app spends per request, which is what limits one web process; uvicorn's
parsing and socket writes come on top for every server alike (bench/ingest.py measures those).
CPU time stays meaningful on a busy machine, where wall-clock rates do not.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import os
import pstats
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import uvloop
from asgi_lifespan import LifespanManager

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._setup import bench_env, fresh_store  # noqa: E402
from bench.ingest import SECRET, SHOP, Signed  # noqa: E402

ASGIApp = Callable[[dict[str, Any], Any, Any], Awaitable[None]]


def options() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--requests", type=int, default=4000)
    p.add_argument("--concurrency", type=int, default=64)
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds of the three apps")
    p.add_argument("--profile", type=int, default=0, help="print FollowUp's top N by own CPU time")
    p.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_ingest_path")
    p.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    p.add_argument("--topic", default="checkouts/update")
    return p.parse_args()


async def call(app: ASGIApp, body: bytes, headers: dict[str, str]) -> int:
    """One POST /webhooks/shopify through the app's full ASGI stack; returns the status."""
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/webhooks/shopify",
        "raw_path": b"/webhooks/shopify",
        "root_path": "",
        "query_string": b"",
        "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()]
        + [(b"content-length", str(len(body)).encode()), (b"host", b"127.0.0.1")],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
        "state": {},
    }
    sent = False
    status = 0

    async def receive() -> dict[str, Any]:
        nonlocal sent
        if sent:
            await asyncio.Event().wait()  # a disconnect never comes: the request completes first
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def drive(app: ASGIApp, topic: str, requests: int, concurrency: int) -> float:
    """CPU milliseconds per request, `concurrency` requests in flight; every answer must be 200."""
    signed = Signed(topic, uuid.uuid4().hex[:8])
    prepared = []
    for i in range(requests):
        body, signature = signed.body(i)
        prepared.append((body, signed.headers(i, signature)))
    queue = iter(prepared)

    async def client() -> None:
        for body, headers in queue:
            status = await call(app, body, headers)
            if status != 200:
                raise SystemExit(f"answered {status}, not 200")

    cpu = time.process_time()
    await asyncio.gather(*(client() for _ in range(concurrency)))
    return (time.process_time() - cpu) / requests * 1000


async def migrated_store(database_url: str, redis_url: str) -> Any:
    """This process as the app: the bench settings in its environment, `fresh_store`'s empty
    migrated database and Shopify store (returned), and Tortoise open; end with `close_db()`."""
    env = {**bench_env(database_url, 9), "FOLLOWUP_REDIS_URL": redis_url}
    os.environ.update({**env, "FOLLOWUP_SHOPIFY_API_SECRET": SECRET})
    store_id, _token = await fresh_store(env, SHOP)
    from app.config import load_settings, use_settings
    from app.core.db import init_db
    from app.stores.models import Store

    settings = load_settings()
    use_settings(settings)
    await init_db(settings)
    return await Store.get(id=store_id)


async def main() -> None:
    args = options()
    await migrated_store(args.database_url, args.redis_url)
    from app.config import get_settings
    from app.core.db import close_db
    from app.server import create_app
    from bench import _baseline

    settings = get_settings()
    followup = create_app(settings, manage_db=False)
    apps = {"followup": followup, "insert (1 row)": _baseline.insert_app, "bare": _baseline.app}
    figures: dict[str, list[float]] = {name: [] for name in apps}
    async with (
        LifespanManager(followup),
        LifespanManager(_baseline.insert_app),
        LifespanManager(_baseline.app),
    ):
        for app in apps.values():  # warm caches, pools and prepared statements
            await drive(app, args.topic, 300, args.concurrency)
        for _ in range(args.rounds):
            for name, app in apps.items():
                figures[name].append(await drive(app, args.topic, args.requests, args.concurrency))
        if args.profile:
            prof = cProfile.Profile(time.process_time)
            prof.enable()
            await drive(followup, args.topic, args.requests, args.concurrency)
            prof.disable()
            pstats.Stats(prof).sort_stats("tottime").print_stats(args.profile)
    conn = await asyncpg.connect(args.database_url)
    stored = await conn.fetchval("SELECT count(*) FROM raw_event")
    await conn.close()
    await close_db()
    print(
        f"app CPU per webhook, {args.concurrency} in flight, {args.requests} per round,"
        f" {args.rounds} alternating rounds; load average {os.getloadavg()[0]:.2f}"
    )
    for name, runs in figures.items():
        print(f"  {name:<16} {' '.join(f'{ms:.3f}' for ms in runs)} ms  (best {min(runs):.3f})")
    best = {name: min(runs) for name, runs in figures.items()}
    print(
        f"  followup / insert: {best['followup'] / best['insert (1 row)']:.2f}x the CPU;"
        f" followup / bare: {best['followup'] / best['bare']:.2f}x; rows stored: {stored}"
    )


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())

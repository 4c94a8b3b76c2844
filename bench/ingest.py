"""Ingest benchmark: the real server (uvicorn, PostgreSQL, Redis) acknowledging signed Shopify webhooks.

    python -m bench.ingest [--seconds 10] [--rate 500] [--connections 64] [--workers 1]
                           [--topic checkouts/update|orders/create]

Prints accepted webhooks/s (closed loop), p50/p99 acknowledgement latency at a fixed rate (open
loop, latency measured from each request's scheduled start), and the same figures for a bare
Litestar endpoint served with the same uvicorn settings in the same run. No worker runs: this
measures verification + durable storage + enqueue, which is what Shopify waits for.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import copy
import hashlib
import hmac
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import uvloop

from bench.loadgen import Request, Result, fixed_rate, throughput

ROOT = Path(__file__).resolve().parents[1]
SECRET = "bench_shopify_secret"
SHOP = "bench-shop.myshopify.com"
PAYLOADS = ROOT / "tests" / "payloads"
SAMPLES = {
    "checkouts/update": json.loads((PAYLOADS / "shopify_checkouts_create.json").read_text()),
    # Orders also write their capture-time keys (app.ingest.seen) in the same statement.
    "orders/create": json.loads((PAYLOADS / "shopify_orders_create.json").read_text()),
}


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_ingest")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/9")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=int, default=500)
    parser.add_argument("--connections", type=int, default=64)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--port", type=int, default=8810)
    parser.add_argument("--topic", choices=sorted(SAMPLES), default="checkouts/update")
    parser.add_argument(
        "--client",
        choices=["wrk", "aiohttp"],
        default="wrk" if shutil.which("wrk") else "aiohttp",
        help="closed-loop load generator (wrk when installed: apt-get install wrk)",
    )
    return parser.parse_args()


async def reset_database(url: str) -> None:
    base, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


def environment(args: argparse.Namespace) -> dict[str, str]:
    return {
        **os.environ,
        "FOLLOWUP_DATABASE_URL": args.database_url,
        "FOLLOWUP_REDIS_URL": args.redis_url,
        "FOLLOWUP_SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnop",
        "FOLLOWUP_SHOPIFY_API_SECRET": SECRET,
        "FOLLOWUP_LOG_LEVEL": "WARNING",
    }


def followup(env: dict[str, str], *argv: str) -> str:
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *argv],
        env=env,
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def serve(command: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    for _ in range(200):
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5)
            return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(
        f"server on {port} did not start: {process.stderr.read().decode() if process.stderr else ''}"
    )


def document(topic: str, cart: int | str) -> bytes:
    doc = copy.deepcopy(SAMPLES[topic])
    doc["checkout_token" if topic.startswith("orders") else "token"] = f"bench-{cart}"
    doc["id"] = 10_000 + cart if isinstance(cart, int) else 9_999
    return json.dumps(doc).encode()


def request_factory(port: int, topic: str) -> callable:
    """Signed deliveries of `topic` over 200 distinct carts, each with a fresh webhook id."""
    bodies = [document(topic, cart) for cart in range(200)]
    signatures = [
        base64.b64encode(hmac.new(SECRET.encode(), b, hashlib.sha256).digest()).decode()
        for b in bodies
    ]
    url = f"http://127.0.0.1:{port}/webhooks/shopify"
    run = uuid.uuid4().hex[:8]

    def make(index: int) -> Request:
        body = bodies[index % len(bodies)]
        return (
            url,
            body,
            {
                "Content-Type": "application/json",
                "X-Shopify-Topic": topic,
                "X-Shopify-Hmac-Sha256": signatures[index % len(bodies)],
                "X-Shopify-Shop-Domain": SHOP,
                "X-Shopify-Webhook-Id": f"{run}-{index}",
                "X-Shopify-Event-Id": f"{run}-{index}",
                "X-Shopify-Triggered-At": "2026-01-08T18:41:07.512Z",
            },
        )

    return make


WRK_SCRIPT = """
local threads = {}
function setup(thread) thread:set("tid", #threads + 1); table.insert(threads, thread) end
function init(args) run = args[1]; body = io.open(args[2], "rb"):read("*a"); n = 0 end
function request()
  n = n + 1
  wrk.headers["X-Shopify-Webhook-Id"] = run .. "-" .. tid .. "-" .. n
  return wrk.format("POST", "/webhooks/shopify", nil, body)
end
"""


def wrk_throughput(port: int, args: argparse.Namespace, seconds: float) -> Result:
    """Closed loop with wrk (C): the load generator leaves the cores to the server under test."""
    body = document(args.topic, "wrk")
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "body.json").write_bytes(body)
        (Path(tmp) / "post.lua").write_text(WRK_SCRIPT)
        signature = base64.b64encode(
            hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        ).decode()
        headers = {
            "Content-Type": "application/json",
            "X-Shopify-Topic": args.topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Triggered-At": "2026-01-08T18:41:07.512Z",
        }
        command = [
            "wrk",
            "-t2",
            f"-c{args.connections}",
            f"-d{int(seconds)}s",
            "-s",
            f"{tmp}/post.lua",
        ]
        for name, value in headers.items():
            command += ["-H", f"{name}: {value}"]
        command += [f"http://127.0.0.1:{port}", "--", uuid.uuid4().hex[:8], f"{tmp}/body.json"]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = int(failed.group(1)) if failed else 0
    return Result(total, total - bad, seconds, [])


async def measure(port: int, args: argparse.Namespace, label: str) -> tuple[Result, Result]:
    make = request_factory(port, args.topic)
    await throughput(make, 1.0, args.connections)  # warm-up: connections, caches, JIT-free paths
    if args.client == "wrk":
        burst = await asyncio.to_thread(wrk_throughput, port, args, args.seconds)
    else:
        burst = await throughput(make, args.seconds, args.connections)
    steady = await fixed_rate(make, args.rate, args.seconds)
    print(
        f"  {label:<10} {burst.per_second:9.0f}/s  p50 {steady.p50:6.1f} ms  p99 {steady.pct(0.99):6.1f} ms"
        f"  ({steady.ok}/{steady.sent} ok at {args.rate}/s)",
        flush=True,
    )
    return burst, steady


async def main() -> None:
    args = parse()
    env = environment(args)
    await reset_database(args.database_url)
    followup(env, "migrate")
    followup(env, "store", "create", "--platform", "shopify", "--domain", SHOP)
    uvicorn_opts = [
        "--workers",
        str(args.workers),
        "--loop",
        "uvloop",
        "--http",
        "httptools",
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    app = serve(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.server:create_app",
            "--factory",
            "--port",
            str(args.port),
            *uvicorn_opts,
        ],
        env,
        args.port,
    )
    base = serve(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "bench._baseline:app",
            "--port",
            str(args.port + 1),
            *uvicorn_opts,
        ],
        env,
        args.port + 1,
    )
    # The baseline has no /healthz; serve() only waits for the port, any answer will do.
    try:
        print(
            f"ingest: {args.seconds:.0f}s per phase, {args.connections} connections ({args.client}), "
            f"{args.workers} uvicorn worker(s), fixed rate {args.rate}/s, {args.topic}",
            flush=True,
        )
        app_burst, app_steady = await measure(args.port, args, "followup")
        base_burst, base_steady = await measure(args.port + 1, args, "baseline")
    finally:
        for process in (app, base):
            process.terminate()
            process.wait(timeout=10)
    conn = await asyncpg.connect(args.database_url)
    stored = await conn.fetchval("SELECT count(*) FROM raw_event")
    await conn.close()
    print(f"  stored raw events: {stored}")
    print(
        f"  ratio followup/baseline: throughput {app_burst.per_second / base_burst.per_second:.2f}, "
        f"p99 {app_steady.pct(0.99) / base_steady.pct(0.99):.2f}"
    )


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())

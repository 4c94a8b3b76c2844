"""Ingest benchmark: the real server (uvicorn, PostgreSQL, Redis) acknowledging signed Shopify webhooks.

    python -m bench.ingest [--seconds 10] [--rate 500] [--connections 64] [--workers 1]
                           [--topic checkouts/update|orders/create]

Side by side in one run, each server alone on the machine while it is measured, with the same
uvicorn settings: FollowUp, the like-for-like baseline (Litestar + an asyncpg pool doing only the
same single-row INSERT … ON CONFLICT and its commit per request) and a bare Litestar endpoint
(bench/_baseline.py). For each: accepted webhooks/s (closed loop), then p50/p99 acknowledgement
latency in an open loop at --rate and at 80 % of that server's own closed-loop rate (latency
counted from each request's scheduled start, so queueing shows; the open loop is raw HTTP/1.1 on
keep-alive connections, every request signed beforehand, and prints how late it issued requests
itself, so a figure the generator could not keep to shows as such). Every delivery is a distinct
signed cart, so every one is a new row. No worker runs: this measures verification + durable
storage + enqueue, which is what Shopify waits for.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
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
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx
import psutil
import uvloop

from bench._setup import reset_database
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


MARK = "__bench_cart__"


class Signed:
    """Distinct signed deliveries of one topic: a new cart in every body, so each is a new row.

    The signed body is what the app deduplicates on (its fingerprint), so a benchmark that resends
    one body under fresh webhook ids measures the duplicate path (no row written, no WAL flush)."""

    def __init__(self, topic: str, run: str) -> None:
        doc = copy.deepcopy(SAMPLES[topic])
        doc["checkout_token" if topic.startswith("orders") else "token"] = f"{run}-{MARK}"
        self.template = json.dumps(doc).encode()
        self.topic = topic
        self.run = run

    def body(self, index: int) -> tuple[bytes, str]:
        body = self.template.replace(MARK.encode(), str(index).encode())
        digest = hmac.new(SECRET.encode(), body, hashlib.sha256).digest()
        return body, base64.b64encode(digest).decode()

    def headers(self, index: int, signature: str) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "X-Shopify-Topic": self.topic,
            "X-Shopify-Hmac-Sha256": signature,
            "X-Shopify-Shop-Domain": SHOP,
            "X-Shopify-Webhook-Id": f"{self.run}-{index}",
            "X-Shopify-Event-Id": f"{self.run}-{index}",
            "X-Shopify-Triggered-At": "2026-01-08T18:41:07.512Z",
        }


def request_factory(port: int, topic: str) -> Callable[[int], Request]:
    """Signed deliveries of `topic`, each a distinct cart under a fresh webhook id."""
    signed = Signed(topic, uuid.uuid4().hex[:8])
    url = f"http://127.0.0.1:{port}/webhooks/shopify"

    def make(index: int) -> Request:
        body, signature = signed.body(index)
        return url, body, signed.headers(index, signature)

    return make


WRK_SCRIPT = """
local threads = {}
function setup(thread) thread:set("tid", #threads); table.insert(threads, thread) end
function init(args)
  run = args[1]; step = tonumber(args[3]); sigs = {}; bodies = {}
  for line in io.lines(args[2]) do
    local tab = line:find("\t", 1, true)
    sigs[#sigs + 1] = line:sub(1, tab - 1)
    bodies[#bodies + 1] = line:sub(tab + 1)
  end
  n = tid
end
function request()
  local i = n % #bodies + 1
  n = n + step
  wrk.headers["X-Shopify-Webhook-Id"] = run .. "-" .. n
  wrk.headers["X-Shopify-Event-Id"] = run .. "-" .. n
  wrk.headers["X-Shopify-Hmac-Sha256"] = sigs[i]
  return wrk.format("POST", "/webhooks/shopify", nil, bodies[i])
end
"""
WRK_THREADS = 2
WRK_POOL_PER_SECOND = (
    8000  # distinct signed bodies per second of the phase (more than any server takes)
)


def wrk_throughput(port: int, args: argparse.Namespace, seconds: float) -> Result:
    """Closed loop with wrk (C): the load generator leaves the cores to the server under test.

    wrk cannot sign, so it cycles through a file of distinct pre-signed bodies."""
    run = uuid.uuid4().hex[:8]
    signed = Signed(args.topic, run)
    with tempfile.TemporaryDirectory() as tmp:
        with (Path(tmp) / "bodies.tsv").open("wb") as pool:
            for index in range(int(seconds * WRK_POOL_PER_SECOND)):
                body, signature = signed.body(index)
                pool.write(signature.encode() + b"\t" + body + b"\n")
        (Path(tmp) / "post.lua").write_text(WRK_SCRIPT)
        command = [
            "wrk",
            f"-t{WRK_THREADS}",
            f"-c{args.connections}",
            f"-d{int(seconds)}s",
            "-s",
            f"{tmp}/post.lua",
        ]
        for name, value in signed.headers(0, "").items():
            if name not in ("X-Shopify-Webhook-Id", "X-Shopify-Event-Id", "X-Shopify-Hmac-Sha256"):
                command += ["-H", f"{name}: {value}"]
        command += [f"http://127.0.0.1:{port}", "--", run, f"{tmp}/bodies.tsv", str(WRK_THREADS)]
        out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    total = int(re.search(r"(\d+) requests in", out).group(1))
    failed = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    bad = int(failed.group(1)) if failed else 0
    return Result(total, total - bad, seconds, [])


@dataclass
class Figures:
    label: str
    burst: Result
    steady: Result
    loaded: Result
    loaded_rate: int
    cpu_ms: float
    """Server CPU (user + system, all its processes) per request in the closed loop."""
    db_ms: float
    """CPU of the PostgreSQL sessions serving it, per request, in the same closed loop."""


def cpu_seconds(process: psutil.Process) -> float:
    total = 0.0
    for proc in (process, *process.children(recursive=True)):
        times = proc.cpu_times()
        total += times.user + times.system
    return total


async def database_sessions(url: str) -> list[psutil.Process]:
    """The PostgreSQL backends serving the bench database (the server's pool, once warm)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database()"
            " AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    found = []
    for r in rows:
        with contextlib.suppress(psutil.Error):  # not ours to read, or already gone
            found.append(psutil.Process(r["pid"]))
    return found


def sessions_cpu(sessions: list[psutil.Process]) -> float:
    total = 0.0
    for proc in sessions:
        try:
            times = proc.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


async def measure(
    port: int, args: argparse.Namespace, label: str, server: psutil.Process
) -> Figures:
    """Closed-loop maximum, then open-loop latency at --rate and at 80 % of that maximum."""
    make = request_factory(port, args.topic)
    await throughput(make, 1.0, args.connections)  # warm-up: connections, caches, JIT-free paths
    sessions = await database_sessions(args.database_url)
    cpu_before, db_before = cpu_seconds(server), sessions_cpu(sessions)
    if args.client == "wrk":
        burst = await asyncio.to_thread(wrk_throughput, port, args, args.seconds)
    else:
        burst = await throughput(request_factory(port, args.topic), args.seconds, args.connections)
    cpu_ms = (cpu_seconds(server) - cpu_before) * 1000 / max(1, burst.sent)
    db_ms = (sessions_cpu(sessions) - db_before) * 1000 / max(1, burst.sent)
    steady = await fixed_rate(request_factory(port, args.topic), args.rate, args.seconds)
    loaded_rate = max(1, int(burst.per_second * 0.8))
    loaded = await fixed_rate(request_factory(port, args.topic), loaded_rate, args.seconds)
    figures = Figures(label, burst, steady, loaded, loaded_rate, cpu_ms, db_ms)
    print(row(figures, args.rate), flush=True)
    return figures


def row(f: Figures, rate: int) -> str:
    def at(result: Result, per_second: int) -> str:
        return (
            f"{result.p50:6.1f} / {result.pct(0.99):7.1f} ms at {per_second:>5}/s"
            f" ({result.ok}/{result.sent} ok; generator late p99 {result.lag_pct(0.99):.1f} ms)"
        )

    return (
        f"  {f.label:<16} {f.burst.per_second:7.0f}/s  {f.cpu_ms:5.2f} + {f.db_ms:4.2f} ms"
        f"   {at(f.steady, rate)}   {at(f.loaded, f.loaded_rate)}"
    )


def uvicorn_command(target: str, port: int, args: argparse.Namespace) -> list[str]:
    factory = ["--factory"] if target.endswith("create_app") else []
    return [
        sys.executable,
        "-m",
        "uvicorn",
        target,
        *factory,
        "--port",
        str(port),
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


async def measure_server(
    target: str, port: int, env: dict[str, str], args: argparse.Namespace, label: str
) -> Figures:
    """One server at a time, so each has both cores to itself while it is measured."""
    process = serve(uvicorn_command(target, port, args), env, port)
    try:
        return await measure(port, args, label, psutil.Process(process.pid))
    finally:
        process.terminate()
        process.wait(timeout=10)


async def main() -> None:
    args = parse()
    env = environment(args)
    await reset_database(args.database_url)
    followup(env, "migrate")
    followup(env, "store", "create", "--platform", "shopify", "--domain", SHOP)
    print(
        f"ingest: {args.seconds:.0f}s per phase, {args.connections} connections ({args.client}),"
        f" {args.workers} uvicorn worker(s), {args.topic}, load average"
        f" {' '.join(f'{x:.2f}' for x in os.getloadavg())}",
        flush=True,
    )
    print(
        f"  {'server':<16} {'closed loop':>9}  {'CPU/req app + db':>16}   {'p50 / p99 at the fixed rate':<44}"
        "   p50 / p99 at 80 % of its closed-loop rate",
        flush=True,
    )
    servers = [
        ("app.server:create_app", "followup"),
        ("bench._baseline:insert_app", "insert (1 row)"),
        ("bench._baseline:app", "bare litestar"),
    ]
    figures = [
        await measure_server(target, args.port + i, env, args, label)
        for i, (target, label) in enumerate(servers)
    ]
    conn = await asyncpg.connect(args.database_url)
    stored = await conn.fetchval("SELECT count(*) FROM raw_event")
    await conn.close()
    app, insert, bare = figures
    print(f"  stored raw events (followup and the insert baseline): {stored}")
    print(
        f"  followup / insert (1 row): throughput {app.burst.per_second / insert.burst.per_second:.2f}x,"
        f" p99 at {args.rate}/s {app.steady.pct(0.99) / insert.steady.pct(0.99):.2f}x"
    )
    app_total, insert_total = app.cpu_ms + app.db_ms, insert.cpu_ms + insert.db_ms
    print(
        f"  CPU per request, app + its database sessions: followup {app_total:.2f} ms, insert"
        f" {insert_total:.2f} ms ({insert_total / app_total:.2f}x as many requests per CPU second)"
    )
    print(
        f"  followup / bare litestar: throughput {app.burst.per_second / bare.burst.per_second:.2f}x,"
        f" p99 at {args.rate}/s {app.steady.pct(0.99) / bare.steady.pct(0.99):.2f}x"
        f"; load average after {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())

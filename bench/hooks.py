"""Outbound webhooks benchmark: deliveries/s to a local receiver, and what hooks add to capture.

    python -m bench.hooks [--subscriptions 100] [--checkouts 20] [--seconds 5] [--rounds 2]
                          [--database-url postgres://…/bench_hooks] [--redis-url redis://…/12]

1. Delivery: one store with N subscriptions on a local receiver (verifying every signature with the
   `standardwebhooks` library); `--checkouts` abandoned checkouts are dispatched to a real
   `followup worker` process, which fans each out to N delivery rows and posts them. Prints
   deliveries/s from the first dispatch to the last 2xx, and events (fanned-out checkouts)/s.
2. Capture cost: the real server acknowledging signed Shopify checkout webhooks (bench.ingest's
   load), alternating rounds with the store having no subscription and N subscriptions, in the
   same run; prints each round and the ratio with/without (1.00 = no cost).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import uvicorn
import uvloop
from standardwebhooks import Webhook, WebhookVerificationError

from bench._setup import reset_database
from bench.ingest import ROOT, SHOP, environment, followup, request_factory, serve
from bench.loadgen import throughput


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--database-url", default="postgres://postgres@127.0.0.1:5432/bench_hooks")
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/12")
    parser.add_argument("--subscriptions", type=int, default=100)
    parser.add_argument("--checkouts", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=5.0, help="per capture round")
    parser.add_argument("--rounds", type=int, default=2, help="capture rounds per variant")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--port", type=int, default=8830)
    return parser.parse_args()


class Receiver:
    """Counts 2xx answers; verifies each signature (the secret is per subscription path)."""

    def __init__(self) -> None:
        self.secrets: dict[str, str] = {}
        self.received = 0
        self.bad = 0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body, more = b"", True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = {k.decode(): v.decode() for k, v in scope["headers"]}
        try:
            Webhook(self.secrets[scope["path"]]).verify(body, headers, json_parse=False)
            self.received += 1
        except (WebhookVerificationError, KeyError):
            self.bad += 1
        await send({"type": "http.response.start", "status": 204, "headers": []})
        await send({"type": "http.response.body", "body": b""})


async def seed(args: argparse.Namespace, receiver_url: str, receiver: Receiver) -> list[int]:
    """Subscriptions on the receiver and abandoned checkouts whose events wait in the outbox."""
    from app.checkouts.models import Checkout, Contact
    from app.checkouts.services import mark_abandoned
    from app.core.timeutil import utcnow
    from app.hooks.models import SubscriptionSource
    from app.hooks.services import subscribe
    from app.stores.models import Store

    store = await Store.get(domain=SHOP)
    for n in range(args.subscriptions):
        sub = await subscribe(
            store.id, f"{receiver_url}/s{n}", ["checkout.abandoned"], SubscriptionSource.REST
        )
        receiver.secrets[f"/s{n}"] = sub.secret
    events = []
    for n in range(args.checkouts):
        contact = await Contact.create(store=store, email=f"shopper{n}@example.com")
        checkout = await Checkout.create(
            store=store,
            contact=contact,
            platform="shopify",
            token=f"hook-bench-{n}",
            email=contact.email,
            total=Decimal("48.00"),
            subtotal=Decimal("48.00"),
            line_items=[{"title": "Linen pillow", "quantity": 1, "unit_price": "48.00"}],
            last_activity_at=utcnow() - timedelta(hours=1),
            abandon_due_at=utcnow() - timedelta(minutes=1),
        )
        transition = await mark_abandoned(checkout.id)
        assert transition and transition.event_id
        events.append(transition.event_id)
    return events


async def delivery_phase(args: argparse.Namespace, env: dict[str, str]) -> None:
    from app.config import load_settings, use_settings
    from app.core.db import close_db, init_db
    from app.core.redis import connect_queue
    from app.core.scheduling import schedule_dispatch
    from app.hooks.models import DeliveryState, HookDelivery

    settings = load_settings(env)
    use_settings(settings)
    await init_db(settings)
    receiver = Receiver()
    server = uvicorn.Server(
        uvicorn.Config(
            receiver,
            host="127.0.0.1",
            port=args.port + 2,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
    )
    serving = asyncio.create_task(server.serve())
    for _ in range(400):
        if server.started:
            break
        await asyncio.sleep(0.05)
    events = await seed(args, f"http://127.0.0.1:{args.port + 2}", receiver)
    total = len(events) * args.subscriptions
    queue = await connect_queue(settings)
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await asyncio.sleep(2)  # worker start-up (imports, pools) is not delivery time
        started = time.perf_counter()
        for event_id in events:
            await schedule_dispatch(queue, event_id)
        while await HookDelivery.filter(state=DeliveryState.DELIVERED).count() < total:
            if time.perf_counter() - started > 600:
                raise RuntimeError("deliveries did not finish within 10 minutes")
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        worker.terminate()
        worker.wait(timeout=30)
        await queue.aclose()
        server.should_exit = True
        await serving
    print(
        f"delivery: {len(events)} events x {args.subscriptions} subscriptions = {total} deliveries "
        f"in {elapsed:.1f}s: {total / elapsed:.0f} deliveries/s, {len(events) / elapsed:.1f} events/s "
        f"(receiver verified {receiver.received}, rejected {receiver.bad})",
        flush=True,
    )
    await close_db()


async def subscriptions(env: dict[str, str], count: int) -> None:
    """Give the store `count` subscriptions (0 removes them all), straight in its tables."""
    import asyncpg

    conn = await asyncpg.connect(env["FOLLOWUP_DATABASE_URL"])
    try:
        await conn.execute("DELETE FROM hook_subscription")
        store_id = await conn.fetchval("SELECT id FROM store WHERE domain = $1", SHOP)
        await conn.executemany(
            "INSERT INTO hook_subscription (store_id, target_url, events, secret, source, active, "
            "consecutive_failures, created_at) VALUES ($1, $2, $3, 'x', 'rest', true, 0, now())",
            [
                (store_id, f"https://hooks.example/{n}", '["checkout.abandoned"]')
                for n in range(count)
            ],
        )
    finally:
        await conn.close()


async def capture_phase(args: argparse.Namespace, env: dict[str, str]) -> None:
    port = args.port
    app = serve(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.server:create_app",
            "--factory",
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        env,
        port,
    )
    make = request_factory(port, "checkouts/update")
    rates: dict[int, list[float]] = {0: [], args.subscriptions: []}
    try:
        await throughput(make, 1.0, args.connections)  # warm-up
        for _ in range(args.rounds):
            for count in rates:
                await subscriptions(env, count)
                result = await throughput(make, args.seconds, args.connections)
                rates[count].append(result.per_second)
                print(
                    f"  capture with {count:>3} subscriptions: {result.per_second:7.0f} acknowledged/s",
                    flush=True,
                )
    finally:
        app.terminate()
        app.wait(timeout=10)
    without, with_hooks = (statistics.mean(rates[c]) for c in rates)
    print(
        f"capture: ratio with/without subscriptions {with_hooks / without:.3f} "
        f"(means {with_hooks:.0f}/s vs {without:.0f}/s over {args.rounds} rounds each)"
    )


async def main() -> None:
    args = parse()
    env = {
        **environment(args),
        "FOLLOWUP_WEBHOOKS_ALLOW_PRIVATE": "1",
        "FOLLOWUP_SWEEP_INTERVAL_SECONDS": "5",
    }
    os.environ.update({k: v for k, v in env.items() if k.startswith("FOLLOWUP_")})
    await reset_database(args.database_url)
    followup(env, "migrate")
    followup(env, "store", "create", "--platform", "shopify", "--domain", SHOP)
    await delivery_phase(args, env)
    await capture_phase(args, env)


if __name__ == "__main__":
    uvloop.install()
    asyncio.run(main())

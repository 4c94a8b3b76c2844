"""Scheduler benchmark: N abandoned checkouts due within a window, sent by real worker processes.

Runs on PostgreSQL (the database `BENCH_DATABASE_URL` names, `bench_recovery` by default) and Redis
with the providers faked in each worker (instant answers), through the real pipeline: arq jobs with
deterministic ids, the row lock, the rules, the `sending` record, the outcome -- and, as in
production on PostgreSQL, the batch drainers of each worker (FOLLOWUP_RECOVERY_BATCH_SIZE). Prints
sends/s, p50/p99 lateness (sent time minus due time) and a ratio against a baseline measured in the
same process: a bare loop that only inserts Message rows. Redis: db 10 by default (flushed by every
run), BENCH_REDIS_URL to change it; each worker keeps the production pool (10 connections):
PostgreSQL is shared.

    .venv/bin/python bench/scheduler.py --checkouts 100000 --window 300 --workers 2
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DB = os.environ.get("BENCH_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/bench_recovery")
# Its own Redis database (flushed by every run): never one the tests or other benches use.
REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/10")
QUEUE = "followup:bench"
ENV = {
    "FOLLOWUP_DATABASE_URL": DB,  # the production pool (10 per process): PostgreSQL is shared
    "FOLLOWUP_REDIS_URL": REDIS,
    "FOLLOWUP_SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "FOLLOWUP_PUBLIC_URL": "https://bench.example.com",
    "FOLLOWUP_LOG_LEVEL": "WARNING",
    "FOLLOWUP_EMAIL_RATE_PER_SECOND": "0",
    "FOLLOWUP_SMS_RATE_PER_SECOND": "0",
}


def settings():  # type: ignore[no-untyped-def]
    from app.config import load_settings, use_settings

    loaded = load_settings(ENV)
    use_settings(loaded)
    return loaded


class InstantSender:
    """A provider that answers at once, like a fast local relay."""

    name = "bench"

    async def send_sms(self, message):  # type: ignore[no-untyped-def]
        from app.messaging.models import DeliveryStatus
        from app.messaging.senders import SendResult

        return SendResult(self.name, uuid.uuid4().hex, DeliveryStatus.SENT, 1)

    async def send_email(self, message):  # type: ignore[no-untyped-def]
        from app.messaging.models import DeliveryStatus
        from app.messaging.senders import SendResult

        return SendResult(self.name, uuid.uuid4().hex, DeliveryStatus.SENT)


def run_worker(concurrency: int) -> None:
    """One worker process: the production worker, with faked providers and the bench queue."""
    from arq import func

    from app.core.db import init_db
    from app.recovery.jobs import send_step
    from app.recovery.sending import Deps
    from app.worker import build_worker

    loaded = settings()
    deps = Deps(settings=loaded, sms=InstantSender(), email=InstantSender(), enrich=False)

    async def main() -> None:
        await init_db(loaded)
        worker = build_worker(
            loaded,
            manage_db=False,
            functions=[func(send_step, name="send_step", max_tries=10_000)],
            cron_jobs=[],
            queue_name=QUEUE,
            ctx={"recovery": deps},
            max_jobs=concurrency,
            poll_delay=0.05,
        )
        await worker.async_run()

    try:
        import uvloop  # the production worker can use it too; it trims per-round-trip overhead
    except ImportError:
        asyncio.run(main())
    else:
        uvloop.run(main())


async def prepare(n: int, window: float, lead: float | None = None) -> float:
    """Fresh schema, one store, N contacts/checkouts/enrollments due in [t0, t0 + window]."""
    import asyncpg
    from rich.progress import Progress
    from tortoise.transactions import in_transaction

    from app.checkouts.models import Checkout, CheckoutStatus, Contact
    from app.core.db import init_db, migrate
    from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep
    from app.recovery.playbook import ensure_default_flow
    from app.stores.models import Platform
    from app.stores.services import create_store

    server, name = DB.split("?", 1)[0].rsplit("/", 1)  # the database BENCH_DATABASE_URL names
    admin = await asyncpg.connect(f"{server}/postgres")
    if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
        await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    conn = await asyncpg.connect(DB)
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await conn.close()
    loaded = settings()
    await migrate(loaded)
    await init_db(loaded)
    store = (await create_store(platform=Platform.CUSTOM, domain="bench.example.com")).store
    flow = await ensure_default_flow(store)
    await FlowStep.filter(flow=flow).delete()
    await FlowStep.create(
        flow=flow,
        position=0,
        channel="email",
        delay_seconds=0,
        variants=[
            {"key": "a", "subject": "Your cart, {{ first_name }}", "body": "Hi {{ first_name }}"}
        ],
    )
    # Room for enqueueing before the first send is due.
    t0 = time.time() + (15 + n / 1000 if lead is None else lead)
    from datetime import UTC, datetime

    base = datetime.fromtimestamp(t0, UTC)
    batch = 2000
    with Progress() as progress:
        task = progress.add_task("inserting checkouts", total=n)
        for start in range(0, n, batch):
            size = min(batch, n - start)
            dues = [base + timedelta(seconds=random.uniform(0, window)) for _ in range(size)]
            async with in_transaction() as tx:
                contacts = [
                    Contact(store=store, email=f"b{start + i}@example.com", first_name="Sam")
                    for i in range(size)
                ]
                await Contact.bulk_create(contacts, using_db=tx)
                contacts = await Contact.filter(email__in=[c.email for c in contacts]).using_db(tx)
                checkouts = [
                    Checkout(
                        store=store,
                        contact=c,
                        platform="custom",
                        token=uuid.uuid4().hex,
                        email=c.email,
                        line_items=[
                            {"title": "Mug", "quantity": 1, "unit_price": "20", "line_total": "20"}
                        ],
                        total=Decimal("20"),
                        subtotal=Decimal("20"),
                        status=CheckoutStatus.ABANDONED,
                        last_activity_at=due - timedelta(minutes=20),
                        abandoned_at=due,
                    )
                    for c, due in zip(contacts, dues, strict=True)
                ]
                await Checkout.bulk_create(checkouts, using_db=tx)
                rows = await Checkout.filter(token__in=[c.token for c in checkouts]).using_db(tx)
                await Enrollment.bulk_create(
                    [
                        Enrollment(
                            store=store,
                            checkout=c,
                            contact_id=c.contact_id,
                            flow=flow,
                            status=EnrollmentStatus.ACTIVE,
                            abandoned_at=c.abandoned_at,
                            next_due_at=c.abandoned_at,
                        )
                        for c in rows
                    ],
                    using_db=tx,
                )
            progress.advance(task, size)
    return t0


async def enqueue_all() -> None:
    from arq import create_pool
    from rich.progress import Progress

    from app.core.redis import arq_settings
    from app.recovery.models import Enrollment
    from app.recovery.sending import schedule

    queue = await create_pool(arq_settings(settings()), default_queue_name=QUEUE)
    await queue.flushdb()
    rows = await Enrollment.all().values_list("id", "next_due_at")
    with Progress() as progress:
        task = progress.add_task("enqueueing send jobs", total=len(rows))
        for start in range(0, len(rows), 500):
            chunk = rows[start : start + 500]
            await asyncio.gather(*(schedule(queue, e, 0, due) for e, due in chunk))
            progress.advance(task, len(chunk))
    await queue.aclose()


async def baseline(n: int) -> float:
    """Rows/s of a bare loop inserting Message rows (what any send must at least do)."""
    from app.checkouts.models import Checkout
    from app.messaging.models import Author, Channel, Direction, Message

    checkout = await Checkout.first()
    started = time.perf_counter()
    for i in range(n):
        await Message.create(
            store_id=checkout.store_id,
            checkout_id=checkout.id,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            author=Author.AUTOMATION,
            to_address="x@example.com",
            body="baseline",
            idempotency_key=f"baseline:{i}",
        )
    rate = n / (time.perf_counter() - started)
    await Message.filter(idempotency_key__startswith="baseline:").delete()
    return rate


async def measure(n: int, deadline: float) -> dict[str, float]:
    from tortoise import connections

    from app.messaging.models import DeliveryStatus, Message

    while time.time() < deadline:
        done = await Message.filter(status=DeliveryStatus.SENT).count()
        print(f"\r  sent {done}/{n}", end="", flush=True)
        if done >= n:
            break
        await asyncio.sleep(1)
    print()
    row = (
        await connections.get("default").execute_query_dict(
            """SELECT count(*) AS sent,
                 extract(epoch FROM max(m.sent_at) - min(e.abandoned_at)) AS span,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.sent_at - e.abandoned_at)) AS p50,
                 percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM m.sent_at - e.abandoned_at)) AS p99,
                 max(extract(epoch FROM m.sent_at - e.abandoned_at)) AS worst
               FROM message m JOIN recovery_enrollment e ON e.id = m.enrollment_id
               WHERE m.status = 'sent'"""
        )
    )[0]
    dup = await connections.get("default").execute_query_dict(
        "SELECT count(*) AS n FROM (SELECT enrollment_id FROM message WHERE enrollment_id IS NOT NULL "
        "GROUP BY enrollment_id, step_index HAVING count(*) > 1) d"
    )
    return {k: float(v or 0) for k, v in row.items()} | {"duplicates": float(dup[0]["n"])}


async def main(args: argparse.Namespace) -> None:
    from app.core.db import close_db

    print(
        f"bench/scheduler.py: {args.checkouts} checkouts due within {args.window:.0f}s, "
        f"{args.workers} worker processes x {args.concurrency} concurrent jobs"
    )
    t0 = await prepare(args.checkouts, args.window)
    await enqueue_all()
    base_rate = await baseline(args.baseline)
    workers = [
        subprocess.Popen(
            [sys.executable, __file__, "--worker", "--concurrency", str(args.concurrency)],
            cwd=ROOT,
        )
        for _ in range(args.workers)
    ]
    try:
        print(f"  first send due in {t0 - time.time():.1f}s")
        result = await measure(args.checkouts, t0 + args.window + args.timeout)
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            worker.wait(10)
        await close_db()
    rate = result["sent"] / max(result["span"], 1e-9)
    print(
        f"  sent          {int(result['sent'])} of {args.checkouts} (duplicates: {int(result['duplicates'])})"
    )
    print(f"  offered load  {args.checkouts / args.window:.0f} sends/s")
    print(f"  throughput    {rate:.0f} sends/s (first due -> last sent)")
    print(
        f"  lateness      p50 {result['p50']:.2f}s  p99 {result['p99']:.2f}s  max {result['worst']:.2f}s"
    )
    print(f"  baseline      {base_rate:.0f} bare Message inserts/s (one process, sequential)")
    print(f"  ratio         {rate / base_rate:.2f}x the bare insert loop")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=100_000)
    parser.add_argument(
        "--window", type=float, default=300.0, help="seconds over which sends fall due"
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=40, help="jobs per worker process")
    parser.add_argument("--baseline", type=int, default=3000, help="rows for the baseline loop")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait after the window"
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        run_worker(options.concurrency)
    else:
        asyncio.run(main(options))

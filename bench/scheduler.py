"""Scheduler benchmark: N abandoned checkouts due within a window, sent by real worker processes.

Runs on PostgreSQL (the database `BENCH_DATABASE_URL` names, `bench_recovery` by default) and Redis
through the production worker (its jobs, its cron sweeps, the batch drainers of each worker on
PostgreSQL: FOLLOWUP_RECOVERY_BATCH_SIZE) with the providers faked in each worker, answering after
`--provider-ms`. The checkouts are spread over `--stores` stores, the first `--sms-stores` of
which text (shoppers' numbers in a zone where it is day now) and the rest email.

Prints sends/s, p50/p99 lateness (sent time minus due time), the sends per 10-second bucket from
the first due time, and a ratio against a baseline measured in the same run: a bare loop that only
inserts Message rows. Progress is read from PostgreSQL's statistics, not by counting rows, so
watching costs the system under test nothing. `--capacity R1 R2 ...` steps the offered rate and
reports the highest one sustained (every step sent once, p99 lateness under 2 s). Redis: db 10 by
default (flushed by every run), BENCH_REDIS_URL to change it; each worker keeps the production pool
(10 connections): PostgreSQL is shared.

    .venv/bin/python -m bench.scheduler --checkouts 100000 --window 300 --workers 2
    .venv/bin/python -m bench.scheduler --checkouts 100000 --provider-ms 50 --capacity 250 500 1000
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

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


class FakeProvider:
    """A provider that answers after `delay` seconds (0: at once, like a fast local relay; the
    issue's figure is 50 ms, about what Twilio's and SendGrid's APIs take)."""

    name = "bench"

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay

    async def send_sms(self, message):  # type: ignore[no-untyped-def]
        from app.messaging.models import DeliveryStatus
        from app.messaging.senders import SendResult

        if self.delay:
            await asyncio.sleep(self.delay)
        return SendResult(self.name, uuid.uuid4().hex, DeliveryStatus.SENT, 1)

    async def send_email(self, message):  # type: ignore[no-untyped-def]
        from app.messaging.models import DeliveryStatus
        from app.messaging.senders import SendResult

        if self.delay:
            await asyncio.sleep(self.delay)
        return SendResult(self.name, uuid.uuid4().hex, DeliveryStatus.SENT)


def run_worker(concurrency: int, provider_ms: float) -> None:
    """One worker process: the production worker (its jobs and its cron sweeps), with faked
    providers and the bench queue."""
    from app.core.db import init_db
    from app.recovery.sending import Deps
    from app.worker import build_worker

    loaded = settings()
    provider = FakeProvider(provider_ms / 1000)
    deps = Deps(settings=loaded, sms=provider, email=provider, enrich=False)

    async def main() -> None:
        await init_db(loaded)
        worker = build_worker(
            loaded,
            manage_db=False,
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


# Shoppers' numbers whose local hour is inside the texting window now, so texts are not held
# for the night (the legal window cannot be turned off, nor should the bench try).
PHONES = (
    ("Europe/London", "+447911{:06d}"),
    ("America/New_York", "+1212{:07d}"),
    ("America/Los_Angeles", "+1415{:07d}"),
    ("Asia/Tokyo", "+81901{:07d}"),
    ("Australia/Sydney", "+6141{:07d}"),
)


def daytime_phone() -> str:
    """A number pattern (index -> valid E.164) for a zone where it is between 10:00 and 19:00."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    now = datetime.now(UTC)
    for zone, pattern in PHONES:
        if 10 <= now.astimezone(ZoneInfo(zone)).hour < 19:
            return pattern
    return PHONES[0][1]


def phone_number(pattern: str, index: int) -> str:
    """North American exchanges cannot start with 0 or 1: start those numbers at 200-0000."""
    return pattern.format(index + (2_000_000 if pattern.startswith("+1") else 0))


async def prepare(
    n: int, window: float, lead: float | None = None, stores: int = 4, sms_stores: int = 2
) -> float:
    """Fresh schema, `stores` stores (the first `sms_stores` text, the rest email), N contacts,
    checkouts and enrollments due in [t0, t0 + window], spread over the stores."""
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
    shops = []
    for i in range(stores):
        texts = i < sms_stores
        store = (
            await create_store(
                platform=Platform.CUSTOM,
                domain=f"bench{i}.example.com",
                sms_number=f"+1415555{9000 + i:04d}" if texts else None,
            )
        ).store
        flow = await ensure_default_flow(store)
        await FlowStep.filter(flow=flow).delete()
        variant = {
            "key": "a",
            "subject": "Your cart, {{ first_name }}",
            "body": "Hi {{ first_name }}",
        }
        await FlowStep.create(
            flow=flow,
            position=0,
            channel="sms" if texts else "email",
            delay_seconds=0,
            variants=[variant],
        )
        shops.append((store, flow, texts))
    phone = daytime_phone()
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
            owner = [shops[(start + i) % len(shops)] for i in range(size)]
            async with in_transaction() as tx:
                contacts = [
                    Contact(
                        store=store,
                        email=f"b{start + i}@example.com",
                        phone=phone_number(phone, start + i) if texts else None,
                        sms_consent=texts,
                        sms_consent_source="checkout" if texts else None,
                        sms_consent_at=base - timedelta(hours=1) if texts else None,
                        first_name="Sam",
                    )
                    for i, (store, _, texts) in enumerate(owner)
                ]
                await Contact.bulk_create(contacts, using_db=tx)
                contacts = await Contact.filter(email__in=[c.email for c in contacts]).using_db(tx)
                contacts.sort(key=lambda c: int(c.email[1:].split("@")[0]))
                checkouts = [
                    Checkout(
                        store_id=c.store_id,
                        contact=c,
                        platform="custom",
                        token=uuid.uuid4().hex,
                        email=c.email,
                        phone=c.phone,
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
                flows = {store.id: flow for store, flow, _ in shops}
                await Enrollment.bulk_create(
                    [
                        Enrollment(
                            store_id=c.store_id,
                            checkout=c,
                            contact_id=c.contact_id,
                            flow=flows[c.store_id],
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


async def _inserted() -> int:
    """Message rows inserted so far, from PostgreSQL's statistics: costs the system under test
    nothing (a `count(*)` every second took up to a third of a core); lags by about a second."""
    from tortoise import connections

    found = await connections.get("default").execute_query_dict(
        "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'message'"
    )
    return int(found[0]["n_tup_ins"]) if found else 0


async def autovacuum_standin(stop: asyncio.Event, every: float = 5.0) -> int:
    """Autovacuum's work, when the server's autovacuum is off (as on these machines; production
    servers run it). A run without it measures the planner guessing at tables it never analyzed
    (a claim sorting every due row instead of reading 50 in index order) and scans through dead
    rows, neither of which a deployment sees. Its default thresholds: analyze a table once
    50 + 10 % of its rows changed, vacuum it once 50 + 20 % are dead. Returns the passes made."""
    import asyncpg

    conn = await asyncpg.connect(DB)
    passes = 0
    try:
        if await conn.fetchval("SHOW autovacuum") == "on":
            return 0
        while not stop.is_set():
            tables = await conn.fetch(
                """SELECT relname, n_live_tup, n_dead_tup, n_mod_since_analyze
                   FROM pg_stat_user_tables WHERE schemaname = 'public'"""
            )
            for t in tables:
                live = t["n_live_tup"]
                if t["n_dead_tup"] > 50 + 0.2 * live:
                    await conn.execute(f'VACUUM (ANALYZE) "{t["relname"]}"')
                    passes += 1
                elif t["n_mod_since_analyze"] > 50 + 0.1 * live:
                    await conn.execute(f'ANALYZE "{t["relname"]}"')
                    passes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), every)
    finally:
        await conn.close()
    return passes


async def measure(n: int, deadline: float, t0: float) -> dict[str, Any]:
    from tortoise import connections

    from app.messaging.models import DeliveryStatus, Message

    conn = connections.get("default")
    start = await _inserted()
    while time.time() < deadline:
        done = await _inserted() - start
        print(f"\r  attempts {done}/{n}", end="", flush=True)
        if done >= n:
            break
        await asyncio.sleep(1)
    while time.time() < deadline:  # the last attempts' answers: counted once they are in
        if await Message.filter(status=DeliveryStatus.SENT).count() >= n:
            break
        await asyncio.sleep(1)
    print()
    row = (
        await conn.execute_query_dict(
            """SELECT count(*) AS sent,
                 extract(epoch FROM max(m.sent_at) - min(e.abandoned_at)) AS span,
                 percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM m.sent_at - e.abandoned_at)) AS p50,
                 percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM m.sent_at - e.abandoned_at)) AS p99,
                 max(extract(epoch FROM m.sent_at - e.abandoned_at)) AS worst
               FROM message m JOIN recovery_enrollment e ON e.id = m.enrollment_id
               WHERE m.status = 'sent'"""
        )
    )[0]
    dup = await conn.execute_query_dict(
        "SELECT count(*) AS n FROM (SELECT enrollment_id FROM message WHERE enrollment_id IS NOT NULL "
        "GROUP BY enrollment_id, step_index HAVING count(*) > 1) d"
    )
    buckets = await conn.execute_query_dict(
        """SELECT floor((extract(epoch FROM sent_at) - $1) / 10)::int AS bucket, count(*) AS n,
             count(*) FILTER (WHERE channel = 'sms') AS sms
           FROM message WHERE status = 'sent' GROUP BY 1 ORDER BY 1""",
        [t0],
    )
    out: dict[str, Any] = {k: float(v or 0) for k, v in row.items()}
    out["duplicates"] = float(dup[0]["n"])
    out["buckets"] = [(int(b["bucket"]), int(b["n"]), int(b["sms"])) for b in buckets]
    return out


def start_workers(args: argparse.Namespace) -> list[subprocess.Popen[bytes]]:
    command = [sys.executable, __file__, "--worker", "--concurrency", str(args.concurrency)]
    command += ["--provider-ms", str(args.provider_ms)]
    return [subprocess.Popen(command, cwd=ROOT) for _ in range(args.workers)]


def stop_workers(workers: list[subprocess.Popen[bytes]]) -> None:
    for worker in workers:
        worker.terminate()
    for worker in workers:
        worker.wait(30)


async def run_once(args: argparse.Namespace, n: int, window: float) -> dict[str, Any]:
    """One offered load: N due within `window` seconds, sent by fresh worker processes."""
    from app.core.db import close_db

    began = time.time()
    t0 = await prepare(n, window, args.lead, stores=args.stores, sms_stores=args.sms_stores)
    await enqueue_all()
    if t0 < time.time():  # the steps would be late before any worker ran: not the scheduler's
        took = time.time() - began
        raise SystemExit(
            f"  set-up took {took:.0f} s, longer than the lead: the first steps fell due "
            f"{time.time() - t0:.1f} s before the workers started, and lateness would count the "
            f"bench's own set-up. Rerun with --lead {int(took * 1.5) + 10}."
        )
    workers = start_workers(args)
    try:
        print(f"  first send due in {t0 - time.time():.1f}s")
        stop = asyncio.Event()
        standin = asyncio.create_task(autovacuum_standin(stop))
        try:
            result = await measure(n, t0 + window + args.timeout, t0)
        finally:
            stop.set()
            passes = await standin
    finally:
        stop_workers(workers)
        await close_db()
    result["autovacuum"] = passes
    result["rate"] = result["sent"] / max(result["span"], 1e-9)
    result["offered"] = n / window
    return result


def print_result(result: dict[str, Any], n: int) -> None:
    print(f"  sent          {int(result['sent'])} of {n} (duplicates: {int(result['duplicates'])})")
    print(f"  offered load  {result['offered']:.0f} sends/s")
    print(f"  throughput    {result['rate']:.0f} sends/s (first due -> last sent)")
    print(
        f"  lateness      p50 {result['p50']:.2f}s  p99 {result['p99']:.2f}s  max {result['worst']:.2f}s"
    )
    rates = "  ".join(f"{b * 10:>4}s:{k / 10:>5.0f}" for b, k, _ in result["buckets"])
    print(f"  sends/s per 10 s from the first due time: {rates}")
    if result.get("autovacuum"):
        print(
            f"  autovacuum    off on this server: {result['autovacuum']} stand-in passes "
            "(VACUUM / ANALYZE at autovacuum's default thresholds)"
        )


def held(result: dict[str, Any], n: int) -> bool:
    """The offered rate was sustained: every step sent once, p99 lateness under 2 s."""
    return result["sent"] >= n and result["duplicates"] == 0 and result["p99"] < 2.0


async def main(args: argparse.Namespace) -> None:
    from app.core.db import close_db, init_db

    print(
        f"bench/scheduler.py: {args.checkouts} checkouts over {args.stores} stores "
        f"({args.sms_stores} texting), {args.workers} worker processes x {args.concurrency} "
        f"concurrent jobs, providers answering in {args.provider_ms:g} ms"
    )
    rates = args.capacity or [args.checkouts / args.window]
    found: list[tuple[float, dict[str, Any]]] = []
    for rate in rates:
        print(f"offered {rate:g} sends/s:")
        result = await run_once(args, args.checkouts, args.checkouts / rate)
        print_result(result, args.checkouts)
        found.append((rate, result))
        if args.capacity and not held(result, args.checkouts):
            break  # a higher rate will not hold either
    loaded = settings()
    await init_db(loaded)
    base_rate = await baseline(args.baseline)
    await close_db()
    print(f"  baseline      {base_rate:.0f} bare Message inserts/s (one process, sequential)")
    for rate, result in found:
        print(f"  ratio at {rate:g}/s  {result['rate'] / base_rate:.2f}x the bare insert loop")
    if args.capacity:
        sustained = [rate for rate, result in found if held(result, args.checkouts)]
        best = f"{max(sustained):g} sends/s" if sustained else "below the lowest rate tried"
        print(f"  capacity      {best} (highest offered rate with every send once, p99 < 2 s)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkouts", type=int, default=100_000)
    parser.add_argument(
        "--window", type=float, default=300.0, help="seconds over which sends fall due"
    )
    parser.add_argument(
        "--lead",
        type=float,
        default=None,
        help="seconds from the start of set-up to the first due step "
        "(default 15 plus 1 per 1,000 checkouts; a slow disk needs more)",
    )
    parser.add_argument("--workers", type=int, default=2, help="worker processes")
    parser.add_argument("--concurrency", type=int, default=40, help="jobs per worker process")
    parser.add_argument("--baseline", type=int, default=3000, help="rows for the baseline loop")
    parser.add_argument(
        "--timeout", type=float, default=600.0, help="seconds to wait after the window"
    )
    parser.add_argument(
        "--provider-ms", type=float, default=0.0, help="how long the fake providers take to answer"
    )
    parser.add_argument("--stores", type=int, default=4, help="stores the checkouts spread over")
    parser.add_argument("--sms-stores", type=int, default=2, help="of those, stores that text")
    parser.add_argument(
        "--capacity",
        type=float,
        nargs="+",
        metavar="RATE",
        help="step through these offered rates (sends/s) and report the highest one sustained",
    )
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.worker:
        run_worker(options.concurrency, options.provider_ms)
    else:
        asyncio.run(main(options))

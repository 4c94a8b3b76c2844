"""Nothing twice, nothing lost: racing workers, duplicate jobs, provider errors and timeouts,
a worker killed with SIGKILL mid-send, Redis flushed, database connections cut."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from tortoise import connections

from app.checkouts.models import Checkout, Contact
from app.config import TwilioSettings
from app.integrations.twilio.sms import TwilioSmsSender
from app.messaging.models import DeliveryStatus, Message
from app.recovery.jobs import recovery_sweep
from app.recovery.sending import Deps, Later, run_step, schedule
from tests.conftest import TEST_ENV
from tests.recovery.conftest import abandoned

ROOT = Path(__file__).resolve().parents[2]


async def attempt(deps: Deps, enrollment_id: int, step: int) -> str:
    try:
        return await run_step(deps, enrollment_id, step)
    except Later as later:
        return f"later:{later.reason}"


async def test_two_workers_racing_send_one_sms(deps, store, clock, fake_twilio):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    fake_twilio.delay = 0.3
    other = Deps(**{**deps.__dict__})
    results = await asyncio.gather(*(attempt(d, enrollment.id, 0) for d in (deps, other, deps)))
    assert sorted(results).count("sent") == 1, results
    assert len(fake_twilio.sent) == 1
    assert await Message.filter(enrollment_id=enrollment.id).count() == 1


async def test_duplicate_jobs_through_the_real_queue_send_once(
    deps, store, clock, fake_twilio, queue, run_jobs
):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await schedule(queue, enrollment.id, 0, None)
    assert not await schedule(queue, enrollment.id, 0, None)  # same job id: refused by Redis
    await queue.enqueue_job("send_step", enrollment.id, 0)  # a stray copy under another id
    # Two jobs for step 0 after the two consent announcements (`contact.opted_in`, sms and
    # email); the burst stops there (later steps are deferred jobs it would wait for).
    await run_jobs(ctx={"recovery": deps}, max_burst_jobs=4)
    assert len(fake_twilio.sent) == 1


async def test_transient_error_retries_then_sends_once(deps, store, clock, fake_twilio):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    fake_twilio.fail_next.append(503)
    assert (await attempt(deps, enrollment.id, 0)).startswith("later:transient")
    message = await Message.get(enrollment_id=enrollment.id)
    assert message.status == DeliveryStatus.PENDING and message.error_code == "20500"
    assert await attempt(deps, enrollment.id, 0) == "sent"
    assert len(fake_twilio.sent) == 1
    await message.refresh_from_db()
    assert message.status == DeliveryStatus.QUEUED and message.error_code is None


async def test_opted_out_number_is_never_retried_and_remembered(deps, store, clock, fake_twilio):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    fake_twilio.opted_out.add("+14155550173")
    assert await attempt(deps, enrollment.id, 0) == "failed"
    contact = await Contact.get(id=checkout.contact_id)
    assert contact.sms_opted_out_at is not None
    await enrollment.refresh_from_db()
    assert enrollment.next_step == 1
    assert await attempt(deps, enrollment.id, 0) == "stale"
    assert (await Message.get(enrollment_id=enrollment.id)).error_code == "21610"


async def test_provider_timeout_is_unknown_and_never_resent(deps, store, clock, fake_twilio):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    fake_twilio.delay = 2.0
    slow = TwilioSmsSender(
        TwilioSettings(fake_twilio.account_sid, fake_twilio.auth_token, fake_twilio.url),
        timeout=0.3,
    )
    timed = Deps(**{**deps.__dict__, "sms": slow})
    assert await attempt(timed, enrollment.id, 0) == "unknown"
    await slow.close()
    fake_twilio.delay = 0
    for _ in range(3):
        assert await attempt(deps, enrollment.id, 0) == "stale"
    assert len(fake_twilio.sent) == 1
    message = await Message.get(enrollment_id=enrollment.id)
    assert message.status == DeliveryStatus.UNKNOWN


@pytest.mark.postgres_only(
    "cuts the server's connections mid-send (pg_terminate_backend); SQLite is a file opened in "
    "the process, with no connection to cut"
)
async def test_database_connections_cut_mid_send_still_record_the_answer(
    deps, store, clock, fake_twilio
):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    fake_twilio.delay = 0.5
    task = asyncio.create_task(attempt(deps, enrollment.id, 0))
    while not fake_twilio.sent:  # noqa: ASYNC110 (polling a fake that has no event)
        await asyncio.sleep(0.02)
    admin = await _admin()
    await admin.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
    )
    await admin.close()
    assert await task == "sent"
    message = await Message.get(enrollment_id=enrollment.id)
    assert (
        message.status == DeliveryStatus.QUEUED
        and message.provider_id == fake_twilio.sent[0]["sid"]
    )
    assert len(fake_twilio.sent) == 1


async def _admin():
    import asyncpg

    from tests.conftest import DATABASE_URL

    return await asyncpg.connect(DATABASE_URL)


def _worker_env(fake_url: str, smtp_port: int) -> dict[str, str]:
    return {
        **os.environ,
        **TEST_ENV,
        "FOLLOWUP_TWILIO_API_BASE_URL": fake_url,
        "FOLLOWUP_SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
        "FOLLOWUP_SENDING_STALE_SECONDS": "5",
        "FOLLOWUP_LOG_LEVEL": "INFO",
    }


@pytest.mark.slow
async def test_worker_killed_mid_send_then_redis_flushed_never_resends(
    deps, store, clock, fake_twilio, smtp, redis, queue, run_jobs, settings
):
    """SIGKILL while Twilio holds its answer: the attempt was committed as `sending`, so after the
    stale delay the sweep resolves it to `unknown` and moves on -- no second text, ever."""
    from app.core.timeutil import utcnow

    # The subprocess runs on real time: abandoned 16 minutes ago, shopper in a zone where it is day.
    checkout, enrollment = await abandoned(store, utcnow() - timedelta(minutes=16))
    await Contact.filter(id=checkout.contact_id).update(
        phone="+447700900123", country=None, region=None, timezone=_daytime_zone()
    )
    await Checkout.filter(id=checkout.id).update(address=None)
    fake_twilio.delay = 8  # holds the answer well past the kill
    log = open(ROOT / "test-artifacts-worker.log", "w")  # noqa: SIM115
    worker = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "worker"],
        cwd=ROOT,
        env=_worker_env(fake_twilio.url, smtp.port),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        for _ in range(300):
            if fake_twilio.sent:
                break
            await asyncio.sleep(0.05)
        assert fake_twilio.sent, (ROOT / "test-artifacts-worker.log").read_text()
        message = await Message.get(enrollment_id=enrollment.id)
        assert message.status == DeliveryStatus.SENDING  # committed before the provider call
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
        log.close()
        (ROOT / "test-artifacts-worker.log").unlink(missing_ok=True)
    await redis.flushdb()  # and Redis forgets every job it had
    fake_twilio.delay = 0
    restarted = Deps(**{**deps.__dict__, "clock": utcnow})
    restarted.settings = type(settings)(
        **{
            **{f: getattr(settings, f) for f in settings.__dataclass_fields__},
            "recovery": _stale(settings, 1),
        }
    )
    await asyncio.sleep(1.2)
    counts = await recovery_sweep({"recovery": restarted, "redis": queue})
    assert counts["due"] + counts["stale_sends"] == 1  # the job Redis lost is back
    await run_jobs(ctx={"recovery": restarted}, max_burst_jobs=1)
    await message.refresh_from_db()
    assert message.status == DeliveryStatus.UNKNOWN
    assert len(fake_twilio.sent) == 1
    await enrollment.refresh_from_db()
    assert enrollment.next_step == 1 and enrollment.next_due_at is not None
    await connections.get("default").execute_query("SELECT 1")


def _daytime_zone() -> str:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    zones = [
        "Europe/London",
        "America/New_York",
        "America/Los_Angeles",
        "Asia/Tokyo",
        "Asia/Kolkata",
    ]
    now = datetime.now(UTC)
    return next(z for z in zones if 10 <= now.astimezone(ZoneInfo(z)).hour < 18)


def _stale(settings, seconds: int):
    from dataclasses import replace

    return replace(settings.recovery, sending_stale_seconds=seconds)


async def test_redis_flushed_before_the_due_time_the_sweep_restores_the_job(
    deps, store, clock, fake_twilio, queue, redis, run_jobs
):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await schedule(queue, enrollment.id, 0, None)
    await redis.flushdb()  # every queued job is gone
    assert await queue.zcard("followup:queue") == 0
    counts = await recovery_sweep({"recovery": deps, "redis": queue})
    assert counts["due"] == 1
    await run_jobs(ctx={"recovery": deps}, max_burst_jobs=1)
    assert len(fake_twilio.sent) == 1
    assert await recovery_sweep({"recovery": deps, "redis": queue}) == {"due": 0, "stale_sends": 0}


async def test_a_permanent_refusal_marks_the_column_the_status_webhook_would(store, clock):
    from app.integrations.twilio.codes import contact_flag
    from app.messaging.outbound import flag_contact
    from app.messaging.senders import SendError

    for code, channel, column in [
        ("21610", "sms", "sms_opted_out_at"),
        ("21211", "sms", "sms_undeliverable_at"),  # unreachable, as a status callback says
        ("21408", "sms", "sms_undeliverable_at"),  # any other permanent refusal
        ("550", "email", "email_undeliverable_at"),
    ]:
        checkout, _ = await abandoned(store, clock.now, enroll=False)
        flag = contact_flag(code) if channel == "sms" else None  # what the provider says
        refusal = SendError(code, "refused", permanent=True, contact_flag=flag)
        assert refusal.contact_flag is not None
        await flag_contact(None, checkout.contact_id, channel, refusal.contact_flag, clock.now)
        contact = await Contact.get(id=checkout.contact_id)
        flagged = {
            name
            for name in ("sms_opted_out_at", "sms_undeliverable_at", "email_undeliverable_at")
            if getattr(contact, name) is not None
        }
        assert flagged == {column}, code
        await Contact.filter(id=contact.id).update(
            sms_opted_out_at=None, sms_undeliverable_at=None, email_undeliverable_at=None
        )


async def test_a_retry_claim_hands_over_the_row_as_written(deps, store, clock, fake_twilio):
    from app.recovery.flows import ordered_steps
    from app.recovery.sending._claim import claim_step

    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    fake_twilio.fail_next.append(503)
    assert (await attempt(deps, enrollment.id, 0)).startswith("later:transient")
    clock.advance(minutes=1)
    steps = await ordered_steps(enrollment.flow_id)
    claim = await claim_step(deps, enrollment.id, 0, steps, None)
    assert claim.outcome == "send" and claim.message is not None
    stored = await Message.get(id=claim.message.id)
    assert stored.status == DeliveryStatus.SENDING and stored.updated_at == clock.now
    fields = ("status", "body", "to_address", "from_address", "segments", "variant", "updated_at")
    assert {f: getattr(claim.message, f) for f in fields} == {f: getattr(stored, f) for f in fields}
    assert claim.message.error_code == stored.error_code == "20500"  # kept until the answer

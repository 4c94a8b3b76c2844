"""Batch claims: many due steps per transaction, with the same once-only guarantees as `send_step`."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Iterator
from datetime import timedelta

import pytest

from app.checkouts.models import Checkout
from app.core import events
from app.core.outbox import OutboxEvent
from app.messaging.models import DeliveryStatus, Message
from app.recovery import flows
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep
from app.recovery.sending import Deps, Later, run_step, schedule, send_due
from app.recovery.sending._prepare import needs_preparation
from app.recovery.sending._queue import job_id
from app.stores.models import Store
from app.stores.services import forget_cached_stores
from tests.recovery.conftest import abandoned

pytestmark = pytest.mark.postgres_only(
    "batch claims take rows with FOR UPDATE SKIP LOCKED; on SQLite each step's own job sends it "
    "(tests/recovery/test_sequence.py)"
)


@pytest.fixture(autouse=True)
def fresh_flows() -> Iterator[None]:
    """Flow ids restart with every test's truncation: never reuse another test's cached steps."""
    yield
    flows.forget_steps()
    forget_cached_stores()


async def shoppers(store, at, n: int) -> list[Enrollment]:
    """Different people: one shopper gets one sequence a week, batch or not."""
    rows = []
    for i in range(n):
        phone, email = f"+1415555{200 + i:04d}", f"shopper{i}@example.com"
        rows.append((await abandoned(store, at, phone=phone, email=email))[1])
    return rows


async def attempt(deps: Deps, enrollment_id: int, step: int) -> str:
    try:
        return await run_step(deps, enrollment_id, step)
    except Later as later:
        return f"later:{later.reason}"


async def test_a_batch_sends_what_is_due_once_and_leaves_the_rest(deps, store, clock, fake_twilio):
    due = await shoppers(store, clock.now - timedelta(minutes=16), 3)
    _, early = await abandoned(store, clock.now - timedelta(minutes=5))  # SMS at 15 minutes
    batch = await send_due(deps, 50)
    assert batch.outcomes == {"sent": 3}
    assert sorted(m["to"] for m in fake_twilio.sent) == [f"+1415555{200 + i:04d}" for i in range(3)]
    for enrollment in due:
        await enrollment.refresh_from_db()
        assert enrollment.next_step == 1 and enrollment.next_due_at > clock.now
        assert await attempt(deps, enrollment.id, 0) == "stale"  # its job, if it still runs
    assert not await Message.exists(enrollment_id=early.id)
    assert (await send_due(deps, 50)).outcomes == {}
    assert await Checkout.filter(recovery_contacted_at=clock.now).count() == 3


async def test_batches_racing_each_other_and_single_jobs_send_each_step_once(
    deps, store, clock, fake_twilio
):
    rows = await shoppers(store, clock.now - timedelta(minutes=16), 6)
    fake_twilio.delay = 0.2
    unthrottled = dataclasses.replace(deps.settings.recovery, sms_per_second=0)
    deps.settings = dataclasses.replace(deps.settings, recovery=unthrottled)
    racers = [send_due(deps, 4), send_due(deps, 4)]
    racers += [attempt(deps, e.id, 0) for e in rows]
    await asyncio.gather(*racers)
    assert len(fake_twilio.sent) == 6
    for enrollment in rows:
        assert await Message.filter(enrollment_id=enrollment.id).count() == 1


async def test_rules_are_checked_under_the_batch_lock(deps, store, clock, fake_twilio):
    # Cross-device grouping off: `same_shopper` and `again` test the budget within one batch,
    # not one abandonment across devices (tests/recovery/test_cross_device.py).
    await Store.filter(id=store.id).update(settings={"cross_device_window_hours": 0})
    checkout, ordered = await abandoned(store, clock.now - timedelta(minutes=16))
    await Checkout.filter(id=checkout.id).update(status="completed")
    at = clock.now - timedelta(minutes=16)
    _, no_consent = await abandoned(
        store, at, consent_at=at + timedelta(minutes=1), phone="+14155550199", email="n@example.com"
    )
    _, same_shopper = await abandoned(store, at, phone="+14155550188", email="s@example.com")
    _, again = await abandoned(store, at, phone="+14155550188", email="s@example.com")
    batch = await send_due(deps, 50)  # the budget counts the sends of this very batch
    assert batch.outcomes == {"stopped": 2, "skipped": 1, "sent": 1}
    assert [m["to"] for m in fake_twilio.sent] == ["+14155550188"]
    assert await Message.filter(enrollment_id__in=[same_shopper.id, again.id]).count() == 1
    await ordered.refresh_from_db()
    assert ordered.status == EnrollmentStatus.STOPPED and ordered.stop_reason == "order_placed"
    await no_consent.refresh_from_db()
    assert no_consent.next_step == 1


async def test_quiet_hours_defer_in_a_batch(deps, store, clock, fake_twilio):
    clock.now = clock.now.replace(hour=6)  # 22:00 the evening before in Los Angeles
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert (await send_due(deps, 50)).outcomes == {"deferred": 1}
    await enrollment.refresh_from_db()
    assert enrollment.next_due_at == clock.now.replace(hour=17)
    assert fake_twilio.sent == []


async def test_steps_with_a_row_or_slow_preparation_stay_with_their_job(
    deps, store, clock, fake_twilio, queue
):
    _, retrying = await abandoned(store, clock.now - timedelta(minutes=16))
    fake_twilio.fail_next.append(503)
    assert (await attempt(deps, retrying.id, 0)).startswith("later:transient")
    _, discounted = await abandoned(
        store, clock.now - timedelta(minutes=16), phone="+14155550111", email="d@example.com"
    )
    await FlowStep.filter(flow_id=discounted.flow_id, position=0).update(
        incentive={"source": "static", "code": "WELCOME10"}
    )
    flows.forget_steps(discounted.flow_id)
    batch = await send_due(deps, 50)
    # The retry (its row is `pending`) waits for its backoff and is not even selected.
    assert batch.outcomes == {"handed_off": 1}
    assert fake_twilio.sent == []
    assert await queue.exists(f"arq:job:{job_id(discounted.id, 0)}")


async def test_claimed_steps_lose_their_queued_job(deps, store, clock, fake_twilio, queue):
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await schedule(queue, enrollment.id, 0, None)
    assert (await send_due(deps, 50)).outcomes == {"sent": 1}
    assert not await queue.exists(f"arq:job:{job_id(enrollment.id, 0)}")
    message = await Message.get(enrollment_id=enrollment.id)
    assert message.status == DeliveryStatus.QUEUED
    assert await Enrollment.filter(id=enrollment.id, next_step=1).exists()


async def test_a_job_leaves_a_plain_due_step_to_the_drainers_but_not_a_retry(
    deps, store, clock, fake_twilio
):
    from app.recovery.jobs import send_step

    worker_ctx = {"recovery": deps, "recovery_drainers": ["running"]}
    _, plain = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await send_step(worker_ctx, plain.id, 0) == "batched"
    assert fake_twilio.sent == [] and not await Message.exists(enrollment_id=plain.id)
    assert (await send_due(deps, 50)).outcomes == {"sent": 1}
    _, retry = await abandoned(
        store, clock.now - timedelta(minutes=16), phone="+14155550122", email="r@example.com"
    )
    fake_twilio.fail_next.append(503)
    assert (await attempt(deps, retry.id, 0)).startswith("later:transient")
    assert await send_step(worker_ctx, retry.id, 0) == "sent"  # its row exists: the job sends it
    assert await send_step({"recovery": deps}, plain.id, 0) == "stale"


async def test_drainers_send_due_steps_and_stop_cleanly(deps, store, clock, fake_twilio, queue):
    from app.recovery.jobs import start_drainers, stop_drainers

    rows = await shoppers(store, clock.now - timedelta(minutes=16), 2)
    worker_ctx = {"recovery": deps, "redis": queue}
    start_drainers(worker_ctx)
    assert len(worker_ctx["recovery_drainers"]) == 2
    try:
        for _ in range(100):
            if len(fake_twilio.sent) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await stop_drainers(worker_ctx)
    assert "recovery_drainers" not in worker_ctx
    assert worker_ctx["recovery_front"].due == clock.now  # how far they came: all that is due
    assert len(fake_twilio.sent) == 2
    assert await Message.filter(enrollment_id__in=[e.id for e in rows]).count() == 2


async def test_one_test_says_which_steps_need_slow_work_before_the_lock(deps, store, clock):
    from app.recovery.sending import left_to_drainer
    from tests.factories import make_store

    shopify = (await make_store("shopify", sms_number="+14155550101")).store
    plain = FlowStep(channel="sms", delay_seconds=0, variants=[])
    discounted = FlowStep(channel="sms", delay_seconds=0, variants=[], incentive={"code": "X"})
    assert not needs_preparation(deps, store, plain)
    assert needs_preparation(deps, store, discounted)
    assert needs_preparation(deps, shopify, plain)
    assert not needs_preparation(dataclasses.replace(deps, enrich=False), shopify, plain)

    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await left_to_drainer(deps, enrollment.id, 0)
    await FlowStep.filter(flow_id=enrollment.flow_id, position=0).update(
        incentive={"source": "static", "code": "WELCOME10"}
    )
    flows.forget_steps(enrollment.flow_id)
    assert not await left_to_drainer(deps, enrollment.id, 0)


async def test_a_claim_says_how_far_it_reached(deps, store, clock, fake_twilio):
    _, early = await abandoned(store, clock.now - timedelta(minutes=17))
    _, late = await abandoned(
        store, clock.now - timedelta(minutes=16), phone="+14155550122", email="r@example.com"
    )
    full = await send_due(deps, 1)
    assert full.outcomes == {"sent": 1}
    assert full.reached == early.next_due_at  # a full batch: as far as its last row
    rest = await send_due(deps, 50)
    assert rest.outcomes == {"sent": 1} and late.next_due_at < clock.now
    assert rest.reached == clock.now  # not full: everything due was taken
    assert (await send_due(deps, 50)).reached == clock.now


async def test_a_job_waits_while_the_drainers_have_yet_to_reach_its_step(
    deps, store, clock, fake_twilio
):
    from arq import Retry

    from app.recovery.jobs import Front, send_step

    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    due = enrollment.next_due_at
    front = Front()
    ctx = {"recovery": deps, "recovery_drainers": ["running"], "recovery_front": front}
    front.reached(due - timedelta(seconds=12))
    with pytest.raises(Retry) as waited:
        await send_step({**ctx, "job_try": 1}, enrollment.id, 0, due.timestamp())
    assert waited.value.defer_score == 12_000  # about when the drainers get there
    front.due = due - timedelta(minutes=10)
    with pytest.raises(Retry) as waited:
        await send_step({**ctx, "job_try": 2}, enrollment.id, 0, due.timestamp())
    assert waited.value.defer_score == 30_000  # far behind: it looks again at least this often
    assert fake_twilio.sent == [] and not await Message.exists(enrollment_id=enrollment.id)

    # It asks the database instead (a plain step: left to the drainers) when it was queued
    # without its due time, when it has waited long enough, and when the drainers seem stuck.
    assert await send_step(ctx, enrollment.id, 0) == "batched"
    assert await send_step({**ctx, "job_try": 61}, enrollment.id, 0, due.timestamp()) == "batched"
    front.seen -= 16
    assert await send_step(ctx, enrollment.id, 0, due.timestamp()) == "batched"
    front.reached(due)  # they have passed it: a step still there is the job's to check
    assert await send_step(ctx, enrollment.id, 0, due.timestamp()) == "batched"
    front.due = due - timedelta(seconds=1)
    # A step with a row (a transient retry) waits its turn too, then its job sends it.
    fake_twilio.fail_next.append(503)
    assert (await attempt(deps, enrollment.id, 0)).startswith("later:transient")
    with pytest.raises(Retry):
        await send_step(ctx, enrollment.id, 0, due.timestamp())
    front.reached(clock.now)
    assert await send_step(ctx, enrollment.id, 0, due.timestamp()) == "sent"


async def test_a_step_left_to_its_job_is_run_now_and_does_not_wait(
    deps, store, clock, fake_twilio, queue
):
    from arq.jobs import Job

    from app.core.scheduling import enqueue
    from app.core.timeutil import utcnow
    from app.recovery.jobs import Front, send_step

    _, discounted = await abandoned(store, clock.now - timedelta(minutes=16))
    await FlowStep.filter(flow_id=discounted.flow_id, position=0).update(
        incentive={"source": "static", "code": "WELCOME10"}
    )
    flows.forget_steps(discounted.flow_id)
    assert discounted.next_due_at is not None
    name, key = queue.default_queue_name, job_id(discounted.id, 0)
    standby = utcnow() + timedelta(hours=1)  # as a job waits out its grace
    due = discounted.next_due_at.timestamp()
    assert await enqueue(queue, "send_step", discounted.id, 0, due, job_id=key, defer_until=standby)
    before_ms = utcnow().timestamp() * 1000
    batch = await send_due(deps, 1)
    assert batch.outcomes == {"handed_off": 1}
    # arq's queue scores are whole milliseconds, rounded to the nearest: up to half a ms ahead
    assert before_ms - 1 <= await queue.zscore(name, key) <= utcnow().timestamp() * 1000 + 1
    info = await Job(key, queue, _queue_name=name).info()
    assert info is not None
    front = Front()
    front.reached(batch.reached)  # the drainer that handed it off was behind: it came this far
    ctx = {"recovery": deps, "recovery_drainers": ["running"], "recovery_front": front}
    assert await send_step({**ctx, "job_try": 1}, *info.args) == "sent"
    assert [m["to"] for m in fake_twilio.sent] == ["+14155550173"]


async def test_answers_that_arrive_together_are_committed_together(deps, store, clock, settings):
    """The provider answers of concurrent sends share one transaction and one commit: while one
    of them waits for a row lock, the other's answer is not yet visible either; then both are."""
    import asyncpg

    from app.messaging.senders import SendResult
    from app.recovery.sending._claim import claim_due
    from app.recovery.sending._deliver import Outcome, record_success

    await shoppers(store, clock.now - timedelta(minutes=16), 2)
    claims = (await claim_due(deps, 50, [])).claims
    assert [c.outcome for c in claims] == ["send", "send"]
    first, second = sorted(claims, key=lambda c: c.message.checkout_id)
    url = settings.database.url.replace("postgres://", "postgresql://", 1)
    holder, reader = await asyncpg.connect(url), await asyncpg.connect(url)
    try:
        locked = holder.transaction()
        await locked.start()
        await holder.execute(
            "SELECT 1 FROM recovery_enrollment WHERE id = $1 FOR UPDATE", second.enrollment.id
        )

        def record(claim):
            result = SendResult("twilio", f"SM{claim.message.id}", DeliveryStatus.QUEUED, 1)
            outcome = Outcome(1, result, clock.now)
            steps, enrollment = claim.steps, claim.enrollment
            return record_success(claim.message, enrollment, 0, steps, outcome)

        both = asyncio.gather(record(first), record(second))
        await asyncio.sleep(0.3)
        status = "SELECT status FROM message WHERE id = $1"
        assert await reader.fetchval(status, first.message.id) == "sending"  # not committed yet
        await locked.rollback()
        recorded = await asyncio.wait_for(both, 10)
    finally:
        await holder.close()
        await reader.close()
    assert [r.won for r in recorded] == [True, True]
    assert all(r.pointer is not None and r.pointer.step == 1 for r in recorded)
    for claim in (first, second):
        assert (await Message.get(id=claim.message.id)).status == DeliveryStatus.QUEUED


async def test_a_batch_announces_its_sends_with_one_dispatch_job(
    deps, store, clock, fake_twilio, queue, run_jobs
):
    """Each send's `message.sent` event is committed with its answer; the batch's events are
    dispatched by one job once the batch has ended, not one job per send."""
    await shoppers(store, clock.now - timedelta(minutes=16), 3)
    assert (await send_due(deps, 50)).outcomes == {"sent": 3}
    sent = await OutboxEvent.filter(name=events.MESSAGE_SENT).order_by("id")
    assert len(sent) == 3 and all(e.dispatched_at is None for e in sent)
    ids = [e.id for e in sent]
    queued = [k.decode() for k in await queue.zrange(queue.default_queue_name, 0, -1)]
    assert f"events:{ids[0]}:{ids[-1]}:3" in queued, queued
    assert not {f"event:{i}" for i in ids} & set(queued), queued  # no job of their own
    await run_jobs()
    for event in sent:
        await event.refresh_from_db()
        assert event.dispatched_at is not None and event.attempts == 1


async def test_a_batch_reads_each_store_once_not_once_per_checkout(
    deps, store, clock, fake_twilio, caplog
):
    """A store row is wide and its secrets are decrypted as it is read: a batch claim of five
    carts from two stores reads the two stores in one statement instead of joining a store to
    every checkout, and every cart still goes out from its own store's number."""
    import logging

    from tests.factories import make_store

    other = (
        await make_store("custom", domain="shop2.example.com", sms_number="+14155550102")
    ).store
    at = clock.now - timedelta(minutes=16)
    await shoppers(store, at, 3)
    for i in range(2):
        await abandoned(other, at, phone=f"+1415555{300 + i:04d}", email=f"other{i}@example.com")

    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        assert (await send_due(deps, 50)).outcomes == {"sent": 5}
    statements = [r.getMessage() for r in caplog.records]
    assert [q for q in statements if 'JOIN "store"' in q] == []  # not a store row per checkout
    together = [q for q in statements if 'FROM "store" WHERE "id" IN' in q]
    assert len(together) == 1 and together[0].endswith(": [1, 2]"), together
    senders = sorted((m["from"], m["to"]) for m in fake_twilio.sent)
    assert [s for s, _ in senders] == ["+14155550100"] * 3 + ["+14155550102"] * 2

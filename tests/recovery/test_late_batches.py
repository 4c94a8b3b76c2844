"""A late system speeds up: drainers keep several batches' provider calls out at once, per-step
jobs and the sweep leave the drainers' steps to them, and no step is ever sent twice."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
from collections import Counter
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from app.ingest import seen
from app.ingest.models import OrderSeen
from app.messaging.models import DeliveryStatus, Message
from app.recovery import flows
from app.recovery.jobs import DRAINERS, recovery_sweep, send_step, start_drainers, stop_drainers
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep
from app.recovery.sending import Deps, claim_batch
from app.recovery.sending._queue import job_id, schedule
from app.stores.services import forget_cached_stores
from app.worker import build_worker
from tests.recovery.conftest import abandoned
from tests.recovery.test_batches import attempt, shoppers

pytestmark = pytest.mark.postgres_only(
    "batch claims take rows with FOR UPDATE SKIP LOCKED; on SQLite each step's own job sends it"
)


@pytest.fixture(autouse=True)
def fresh_flows() -> Iterator[None]:
    yield
    flows.forget_steps()
    forget_cached_stores()


def batches_of(deps: Deps, size: int) -> Deps:
    """Small batches, no sender pacing: what limits the sends is how many calls are out at once."""
    recovery = dataclasses.replace(deps.settings.recovery, batch_size=size, sms_per_second=0)
    return dataclasses.replace(deps, settings=dataclasses.replace(deps.settings, recovery=recovery))


async def until_sent(fake: Any, n: int, ctxs: list[dict[str, Any]]) -> None:
    try:
        for _ in range(400):
            if len(fake.sent) >= n and fake.in_flight == 0:
                return
            await asyncio.sleep(0.05)
    finally:
        for ctx in ctxs:
            await stop_drainers(ctx)


async def test_a_drainer_keeps_several_batches_out_with_a_slow_provider(
    deps, store, clock, fake_twilio, queue
):
    rows = await shoppers(store, clock.now - timedelta(minutes=16), 12)
    fake_twilio.delay = 1.0  # long enough for the next claims to land while these are out
    ctx = {"recovery": batches_of(deps, 2), "redis": queue}
    start_drainers(ctx)
    await until_sent(fake_twilio, 12, [ctx])
    # Two drainers each waiting for its batch of two before claiming again have four calls out at
    # most; a late system needs more: the next batches are claimed while the first are answered.
    assert fake_twilio.most_in_flight > DRAINERS * 2
    assert len(fake_twilio.sent) == 12
    for enrollment in rows:
        assert await Message.filter(enrollment_id=enrollment.id).count() == 1


async def test_two_workers_and_every_job_racing_send_each_step_once(
    deps, store, clock, fake_twilio, queue
):
    rows = await shoppers(store, clock.now - timedelta(minutes=16), 16)
    fake_twilio.delay = 0.3
    fast = batches_of(deps, 3)
    workers = [{"recovery": fast, "redis": queue} for _ in range(2)]
    for ctx in workers:
        start_drainers(ctx)
    jobs = [send_step(workers[i % 2], e.id, 0) for i, e in enumerate(rows)]
    jobs += [attempt(fast, e.id, 0) for e in rows]  # and jobs of a worker without drainers
    await asyncio.gather(*jobs)
    await until_sent(fake_twilio, 16, workers)
    assert Counter(m["to"] for m in fake_twilio.sent) == {
        f"+1415555{200 + i:04d}": 1 for i in range(16)
    }
    for enrollment in rows:
        assert await Message.filter(enrollment_id=enrollment.id).count() == 1


async def test_orders_seen_while_the_batch_is_claimed_stop_their_sends(
    deps, store, clock, fake_twilio
):
    from tests.factories import make_store

    rows = await shoppers(store, clock.now - timedelta(minutes=16), 5)
    claimed = await claim_batch(batches_of(deps, 50), 50)
    assert [c.outcome for c in claimed.claims] == ["send"] * 5
    checkouts = [await e.checkout for e in rows]
    other = (await make_store("custom", domain="other.example.com")).store
    # One batch checks every cart at once: by the shopper's email, phone, or the checkout
    # itself; an order at another store, or one placed before the cart was touched, is not it.
    for values in (
        {"store_id": store.id, "email_digest": seen.email_key(checkouts[1].email)},
        {"store_id": store.id, "phone_digest": seen.phone_key(checkouts[2].phone)},
        {"store_id": store.id, "checkout_token": checkouts[3].token},
        {"store_id": other.id, "email_digest": seen.email_key(checkouts[0].email)},
    ):
        await OrderSeen.create(seen_at=clock.now, **values)
    earlier = checkouts[4].last_activity_at - timedelta(minutes=1)
    await OrderSeen.create(
        store_id=store.id, email_digest=seen.email_key(checkouts[4].email), seen_at=earlier
    )
    batch = await claimed.send()
    assert batch.outcomes == {"sent": 2, "stopped": 3}
    assert sorted(m["to"] for m in fake_twilio.sent) == ["+14155550200", "+14155550204"]
    for bought in rows[1:4]:
        message = await Message.get(enrollment_id=bought.id)
        assert message.status == DeliveryStatus.CANCELLED
        await bought.refresh_from_db()
        assert bought.status == EnrollmentStatus.STOPPED


async def test_with_drainers_the_sweep_queues_only_the_steps_they_leave(
    deps, store, clock, fake_twilio, queue
):
    plain = await shoppers(store, clock.now - timedelta(minutes=16), 2)
    _, retrying = await abandoned(
        store, clock.now - timedelta(minutes=16), phone="+14155550122", email="r@example.com"
    )
    fake_twilio.fail_next.append(503)
    assert (await attempt(deps, retrying.id, 0)).startswith("later:transient")
    await queue.flushdb()
    ctx: dict[str, Any] = {"recovery": deps, "redis": queue, "recovery_drainers": ["running"]}
    counts = await recovery_sweep(ctx)
    # The drainers claim plain due steps from the database: a job for each would only compete.
    assert counts["due"] == 1
    assert await queue.exists(f"arq:job:{job_id(retrying.id, 0)}")
    for enrollment in plain:
        assert not await queue.exists(f"arq:job:{job_id(enrollment.id, 0)}")
    # A step needing slow work first (a discount code) is queued for its own job too.
    await FlowStep.filter(flow_id=plain[0].flow_id, position=0).update(
        incentive={"source": "static", "code": "WELCOME10"}
    )
    flows.forget_steps(plain[0].flow_id)
    await recovery_sweep(ctx)
    assert await queue.exists(f"arq:job:{job_id(plain[0].id, 0)}")
    # A worker without drainers (SQLite, batches off) still queues every due step.
    await FlowStep.filter(flow_id=plain[0].flow_id, position=0).update(incentive=None)
    flows.forget_steps(plain[0].flow_id)
    await queue.flushdb()
    assert (await recovery_sweep({"recovery": deps, "redis": queue}))["due"] == 3
    assert await Enrollment.filter(status=EnrollmentStatus.ACTIVE).count() == 3


def ours(task: asyncio.Task[Any]) -> bool:
    """A task running our code or arq's (a drainer, a batch, a job), not the fakes' servers."""
    code = getattr(task.get_coro(), "cr_code", None)
    where = code.co_filename if code else ""
    return f"{os.sep}app{os.sep}" in where or f"{os.sep}arq{os.sep}" in where


async def until(condition: Any, seconds: float = 20.0, step: float = 0.02) -> bool:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        if await condition():
            return True
        await asyncio.sleep(step)
    return False


def a_job_starting(worker: Any) -> bool:
    """arq has a job's task but not yet its function's: it is still reading the job from Redis."""
    return any(not t.done() and j not in worker.job_tasks for j, t in worker.tasks.items())


async def test_a_stopped_worker_leaves_no_batch_behind_and_a_restart_sends_each_step_once(
    settings, deps, store, clock, fake_twilio, queue
):
    rows = await shoppers(store, clock.now - timedelta(minutes=16), 8)
    fake_twilio.delay = 1.5  # calls still out when the worker stops
    # Batches of 3 paced at 4 texts a second: when the stop comes, some claimed sends still
    # wait for their sender's slot (no provider has heard of them) and some calls are out.
    recovery = dataclasses.replace(deps.settings.recovery, batch_size=3, sms_per_second=4)
    paced = dataclasses.replace(
        deps, settings=dataclasses.replace(deps.settings, recovery=recovery)
    )
    before = asyncio.all_tasks()

    async def run_worker() -> Any:
        worker = build_worker(
            settings, manage_db=False, cron_jobs=[], poll_delay=0.05, ctx={"recovery": paced}
        )
        return worker, asyncio.create_task(worker.async_run())

    async def calls_out() -> bool:
        return fake_twilio.in_flight > 0

    worker, runner = await run_worker()
    assert await until(calls_out)
    # The steps' jobs are queued again (a sweep after Redis lost them): the stop lands on a job
    # that is still starting, which is when arq's own close re-raised and skipped on_shutdown.
    for enrollment in rows:
        await schedule(queue, enrollment.id, 0, None)

    async def starting() -> bool:
        return a_job_starting(worker)

    assert await until(starting, step=0)
    closed = True
    try:
        await worker.close()
    except asyncio.CancelledError:
        closed = False
    with contextlib.suppress(asyncio.CancelledError):
        await runner
    left = [t for t in asyncio.all_tasks() - before if ours(t)]
    try:
        assert closed, "closing the worker re-raised a job's cancellation"
        assert not left, left
        # Calls out were awaited and recorded; sends waiting for their slot were given back.
        assert not await Message.filter(status=DeliveryStatus.SENDING).exists()
        assert await Message.filter(status=DeliveryStatus.PENDING).exists()
    finally:
        await stop_drainers(worker.ctx)  # a no-op unless the stop above left them running

    worker, runner = await run_worker()

    async def all_sent() -> bool:
        done = await Message.filter(
            enrollment_id__in=[e.id for e in rows],
            status__in=[DeliveryStatus.QUEUED, DeliveryStatus.SENT],
        ).count()
        return done == len(rows) and fake_twilio.in_flight == 0

    try:
        assert await until(all_sent)
    finally:
        await worker.close()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
    assert not [t for t in asyncio.all_tasks() - before if ours(t)]
    assert Counter(m["to"] for m in fake_twilio.sent) == {
        f"+1415555{200 + i:04d}": 1 for i in range(8)
    }
    for enrollment in rows:
        assert await Message.filter(enrollment_id=enrollment.id).count() == 1
        await enrollment.refresh_from_db()
        assert enrollment.next_step == 1


async def test_cancelled_drainers_give_back_what_no_provider_heard_of(
    deps, store, clock, fake_twilio, queue
):
    rows = await shoppers(store, clock.now - timedelta(minutes=16), 6)
    fake_twilio.delay = 3.0  # the calls out are cut short
    recovery = dataclasses.replace(deps.settings.recovery, batch_size=3, sms_per_second=4)
    paced = dataclasses.replace(
        deps, settings=dataclasses.replace(deps.settings, recovery=recovery)
    )
    ctx: dict[str, Any] = {"recovery": paced, "redis": queue}
    before = asyncio.all_tasks()
    start_drainers(ctx)

    async def calls_out() -> bool:
        return fake_twilio.in_flight > 0

    assert await until(calls_out)
    # Cancelled outright (a grace run out, or the event loop closing): nothing asked them to stop.
    drainers = ctx["recovery_drainers"]
    for task in drainers:
        task.cancel()
    await asyncio.gather(*drainers, return_exceptions=True)
    await stop_drainers(ctx)
    assert not [t for t in asyncio.all_tasks() - before if ours(t)]
    # A call cut short stays `sending` (later `unknown`, never resent); a send still waiting for
    # its slot when its batch was cancelled is `pending` again, its job queued to send it.
    called = {m["to"] for m in fake_twilio.sent}
    released = 0
    for enrollment in rows:
        message = await Message.get_or_none(enrollment_id=enrollment.id)
        if message is None:  # not claimed before the stop: due, for the next drainer
            continue
        if message.to_address in called:
            assert message.status == DeliveryStatus.SENDING
        else:
            assert message.status == DeliveryStatus.PENDING
            assert await queue.exists(f"arq:job:{job_id(enrollment.id, 0)}")
            released += 1
    assert released

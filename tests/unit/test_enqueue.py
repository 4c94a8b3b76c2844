"""Our one-round-trip enqueue keeps arq's contract: arq's own worker runs the job, a job id is
taken once (while queued and while its result is kept), and a deferred job waits for its time."""

from __future__ import annotations

from datetime import timedelta

from arq.jobs import Job, JobStatus

from app.core.scheduling import enqueue
from app.core.timeutil import utcnow


async def test_a_job_is_enqueued_once_per_id_and_arq_reads_it(queue) -> None:
    assert await enqueue(queue, "dispatch_event", 41, job_id="event:41") is True
    assert await enqueue(queue, "dispatch_event", 41, job_id="event:41") is False  # queued already
    job = Job("event:41", queue, _queue_name=queue.default_queue_name)
    info = await job.info()
    assert info is not None and info.function == "dispatch_event" and info.args == (41,)
    assert await job.status() == JobStatus.queued
    ttl_ms = await queue.pttl("arq:job:event:41")
    assert 0 < ttl_ms <= queue.expires_extra_ms  # arq's own expiry for a job due now


async def test_a_deferred_job_is_scored_at_its_time_and_expires_after_it(queue) -> None:
    due = utcnow() + timedelta(hours=2)
    assert await enqueue(queue, "check_abandoned", 7, job_id="abandon:7", defer_until=due)
    score = await queue.zscore(queue.default_queue_name, "abandon:7")
    assert score == round(due.timestamp() * 1000)
    job = Job("abandon:7", queue, _queue_name=queue.default_queue_name)
    assert await job.status() == JobStatus.deferred
    ttl_ms = await queue.pttl("arq:job:abandon:7")
    assert ttl_ms > 2 * 3600 * 1000 - 60_000  # the wait plus arq's extra day


async def test_a_kept_result_blocks_the_id_as_arq_does(queue) -> None:
    await queue.set("arq:result:event:9", b"done")
    assert await enqueue(queue, "dispatch_event", 9, job_id="event:9") is False
    assert await queue.zscore(queue.default_queue_name, "event:9") is None


async def test_arqs_worker_runs_what_we_enqueued(queue, run_jobs, settings) -> None:
    # An unknown outbox id: the real dispatch job runs, finds nothing and completes.
    assert await enqueue(queue, "dispatch_event", 999_999, job_id="event:999999")
    assert await run_jobs() == 1
    assert await queue.zscore(queue.default_queue_name, "event:999999") is None
    assert not await queue.exists("arq:job:event:999999")
    # The worker keeps no results (app.worker), so the id is free again, as with arq's enqueue.
    assert await enqueue(queue, "dispatch_event", 999_999, job_id="event:999999") is True


async def test_without_redis_it_says_so_instead_of_failing(settings) -> None:
    assert await enqueue(None, "dispatch_event", 1, job_id="event:1") is False


async def test_sooner_brings_a_later_job_forward_and_never_delays_one(queue) -> None:
    later = utcnow() + timedelta(hours=1)
    name = queue.default_queue_name
    assert await enqueue(queue, "send_step", 5, 0, job_id="send:5:0", defer_until=later)
    assert await enqueue(queue, "send_step", 5, 0, job_id="send:5:0") is False  # plain: taken
    before = utcnow()
    assert await enqueue(queue, "send_step", 5, 0, job_id="send:5:0", sooner=True) is True
    score = await queue.zscore(name, "send:5:0")
    assert before.timestamp() * 1000 - 1 <= score <= utcnow().timestamp() * 1000 + 1
    job = Job("send:5:0", queue, _queue_name=name)
    info = await job.info()
    assert info is not None and info.args == (5, 0)  # the job itself is the one first queued
    # Already due: asking for later, or again for now, leaves it where it is.
    assert not await enqueue(
        queue, "send_step", 5, 0, job_id="send:5:0", defer_until=later, sooner=True
    )
    assert await queue.zscore(name, "send:5:0") == score
    # No job yet: sooner queues one as a plain enqueue would.
    assert await enqueue(queue, "send_step", 6, 0, job_id="send:6:0", sooner=True) is True
    assert await queue.zscore(name, "send:6:0") is not None


async def test_many_jobs_are_decided_one_by_one_in_one_round_trip_per_chunk(queue) -> None:
    from app.core import scheduling
    from app.core.scheduling import Planned, enqueue_many

    name = queue.default_queue_name
    later = utcnow() + timedelta(hours=1)
    assert await enqueue(queue, "dispatch_event", 1, job_id="event:1")  # queued already
    await queue.set("arq:result:event:2", b"done")  # its result still kept
    jobs = [Planned("dispatch_event", (i,), f"event:{i}") for i in range(1, 1201)]
    jobs.append(Planned("check_abandoned", (7,), "abandon:7", defer_until=later))
    jobs.append(Planned("dispatch_event", (8,), "event:1201", utcnow() - timedelta(hours=1)))
    jobs.append(Planned("dispatch_event", (9,), "event:3"))  # the same id twice in one call
    sent: list[int] = []  # commands per round trip, read off redis-py's pipelines
    pipeline = queue.pipeline

    def counted(*args, **kwargs):
        pipe = pipeline(*args, **kwargs)
        execute = pipe.execute

        async def execute_counted(*a, **k):
            sent.append(len(pipe.command_stack))
            return await execute(*a, **k)

        pipe.execute = execute_counted
        return pipe

    queue.pipeline = counted
    assert await enqueue_many(queue, jobs) == 1200  # 1,203 asked: 2 taken, 1 repeated
    assert sent == [scheduling.PIPELINE_CHUNK, scheduling.PIPELINE_CHUNK, 203]
    assert await queue.zcard(name) == 1201  # event:1 once, event:3..1201, abandon:7
    assert await queue.zscore(name, "event:2") is None
    info = await Job("event:3", queue, _queue_name=name).info()
    assert info is not None and info.args == (3,)  # the first of the two stays
    assert await queue.zscore(name, "abandon:7") == round(later.timestamp() * 1000)
    assert await Job("abandon:7", queue, _queue_name=name).status() == JobStatus.deferred
    # A time already past runs now, with arq's expiry for a job due now, as `enqueue` does.
    assert await queue.zscore(name, "event:1201") <= utcnow().timestamp() * 1000 + 1
    assert 0 < await queue.pttl("arq:job:event:1201") <= queue.expires_extra_ms


async def test_many_jobs_without_redis_are_left_to_the_sweep(settings, caplog) -> None:
    from arq.connections import ArqRedis

    from app.core.scheduling import Planned, enqueue_many
    from tests.factories import free_port

    assert await enqueue_many(None, [Planned("dispatch_event", (1,), "event:1")]) == 0
    gone = ArqRedis(host="127.0.0.1", port=free_port(), socket_connect_timeout=1)
    try:
        jobs = [Planned("dispatch_event", (i,), f"event:{i}") for i in range(3)]
        assert await enqueue_many(gone, jobs) == 0
    finally:
        await gone.aclose()
    assert "enqueue of 3 jobs failed, the sweep will retry" in caplog.text

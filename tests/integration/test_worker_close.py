"""Stopping a worker always runs its shutdown, even when the stop lands on a job still starting.

arq 0.28's own `close` gathers the jobs it has just cancelled without `return_exceptions`: a job
cancelled while arq is still reading its definition from Redis (before the `try` that would catch
the cancellation) re-raises it there, and `on_shutdown` (which stops the recovery drainers) never
runs. `app.worker.FollowUpWorker.close` is that `close` with the cancelled jobs' exceptions kept.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from app.core.scheduling import enqueue
from app.worker import build_worker


def _a_job_starting(worker: Any) -> bool:
    """arq has a task for the job but not yet for its function: it is still reading the job."""
    return any(not t.done() and j not in worker.job_tasks for j, t in worker.tasks.items())


async def test_a_stop_on_a_starting_job_still_runs_on_shutdown(settings, queue):
    worker = build_worker(settings, manage_db=False, cron_jobs=[], poll_delay=0.01)
    shutdowns: list[dict[str, Any]] = []
    original = worker.on_shutdown
    assert original is not None

    async def shutdown(ctx: dict[str, Any]) -> None:
        shutdowns.append(ctx)
        await original(ctx)

    worker.on_shutdown = shutdown
    runner = asyncio.create_task(worker.async_run())
    caught = False
    try:
        # Jobs that find nothing to do (no such outbox event), queued faster than they finish,
        # until the worker is caught between taking one and starting its function.
        loop = asyncio.get_running_loop()
        deadline, n = loop.time() + 20, 0
        while not caught and loop.time() < deadline:
            for _ in range(20):
                n += 1
                await enqueue(queue, "dispatch_event", 10**9 + n, job_id=f"event:close-test:{n}")
            for _ in range(2000):
                if _a_job_starting(worker):
                    caught = True
                    break
                await asyncio.sleep(0)
        assert caught, "no job was ever caught starting"
        await worker.close()  # arq's own close raised CancelledError here and skipped on_shutdown
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        if not shutdowns:
            await original(worker.ctx)  # stop what on_shutdown would have stopped
    assert len(shutdowns) == 1

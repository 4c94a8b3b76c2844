"""The recovery sweep when the system is behind: how long one pass takes to re-queue what is due.

    BENCH_DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_sweep \
        BENCH_REDIS_URL=redis://127.0.0.1:6379/14 .venv/bin/python -m bench.sweep --due 5000 --runs 5

Seeds `--due` active enrollments already due (the scheduler bench's stores, flows and carts),
then runs the worker's own `recovery_sweep` job: first on an empty Redis (every step gets its
job), then `--runs` times with every job already queued (each step's enqueue is a no-op: what
every pass does while the drainers are behind). Prints each pass's wall time and the worker's
CPU for it, per due row, beside a baseline in the same run: the same number of Redis round trips
as bare `PING`s, one after another, and the same number sent in one pipeline. Never run it
against a database or Redis db you care about: it drops the schema and flushes the db.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from typing import Any

from bench import scheduler


async def _timed(run: Callable[[], Awaitable[Any]]) -> tuple[float, float, Any]:
    wall, cpu = time.perf_counter(), time.process_time()
    result = await run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


async def main(args: argparse.Namespace) -> None:
    from arq import create_pool

    from app.core.redis import arq_settings
    from app.recovery.jobs import recovery_sweep

    await scheduler.prepare(args.due, window=0.0, lead=-60.0)  # every step due a minute ago
    queue = await create_pool(arq_settings(scheduler.settings()), default_queue_name=args.queue)
    await queue.flushdb()
    ctx: dict[str, Any] = {"redis": queue}
    n = args.due

    def line(label: str, wall: float, cpu: float) -> None:
        print(
            f"  {label:<34} {wall * 1000:9.1f} ms wall {cpu * 1000:9.1f} ms CPU"
            f"   {wall / n * 1e6:7.1f} / {cpu / n * 1e6:7.1f} us per row"
        )

    print(f"bench/sweep.py: {n} due steps, queue {args.queue}")
    wall, cpu, counts = await _timed(lambda: recovery_sweep(ctx))
    assert counts["due"] == n, f"the first pass queued {counts['due']} of {n}"
    line("first pass (every job new)", wall, cpu)
    walls, cpus = [], []
    for _ in range(args.runs):
        wall, cpu, counts = await _timed(lambda: recovery_sweep(ctx))
        assert counts["due"] == 0, f"a repeated pass queued {counts['due']} again"
        walls.append(wall)
        cpus.append(cpu)
    line(f"repeated pass, median of {args.runs}", statistics.median(walls), statistics.median(cpus))

    async def pings() -> None:
        for _ in range(n):
            await queue.ping()

    async def piped() -> None:
        async with queue.pipeline(transaction=False) as pipe:
            for _ in range(n):
                pipe.ping()
            await pipe.execute()

    ping_wall, ping_cpu, _ = await _timed(pings)
    line("baseline: PING per row, in turn", ping_wall, ping_cpu)
    pipe_wall, pipe_cpu, _ = await _timed(piped)
    line("baseline: PING per row, pipelined", pipe_wall, pipe_cpu)
    print(
        f"  repeated pass / PINGs in turn: {statistics.median(walls) / ping_wall:.2f}x wall, "
        f"{statistics.median(cpus) / ping_cpu:.2f}x CPU"
    )
    await queue.flushdb()
    await queue.aclose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--due", type=int, default=5000, help="due steps (the sweep reads 5,000)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--queue", default=scheduler.QUEUE)
    asyncio.run(main(parser.parse_args()))

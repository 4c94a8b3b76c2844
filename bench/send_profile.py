"""Cost of one recovery send on a quiet machine: database round trips and Python CPU per send.

Wall-clock figures on a shared VM are noisy; these two are not. It prepares N due checkouts with
`bench/scheduler.py`'s data (same database, same flow), then sends them from this process through
the production pipeline one at a time (or in batch claims), counting every statement asyncpg sends and the CPU time
spent, optionally under cProfile.

    .venv/bin/python bench/send_profile.py --sends 500
    .venv/bin/python bench/send_profile.py --sends 500 --batch 50
    .venv/bin/python bench/send_profile.py --sends 500 --cprofile 25
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import pstats
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench import scheduler  # noqa: E402

STATEMENTS: Counter[str] = Counter()


def count_statements() -> None:
    """Wrap asyncpg's statement methods: each call is one round trip (BEGIN and COMMIT included)."""
    from asyncpg.connection import Connection

    for name in ("fetch", "fetchrow", "fetchval", "execute", "executemany"):
        original = getattr(Connection, name)

        def wrapped(
            self: Any, query: str, *args: Any, __original: Any = original, **kw: Any
        ) -> Any:
            STATEMENTS[" ".join(str(query).split())[:90]] += 1
            return __original(self, query, *args, **kw)

        setattr(Connection, name, wrapped)


async def send_all(deps: Any, batch: int) -> int:
    from app.recovery.models import Enrollment
    from app.recovery.sending import run_step, send_due

    ids = await Enrollment.all().order_by("id").values_list("id", flat=True)
    results: Counter[str] = Counter()
    if batch:
        while claimed := await send_due(deps, batch):
            if not claimed.outcomes:
                break
            results.update(claimed.outcomes)
    else:
        for enrollment_id in ids:
            results[await run_step(deps, enrollment_id, 0)] += 1
    print(f"  outcomes      {dict(results)}")
    return len(ids)


async def main(args: argparse.Namespace) -> None:
    from app.core.db import close_db
    from app.recovery.sending import Deps

    await scheduler.prepare(args.sends, 0.0, lead=0.0)
    loaded = scheduler.settings()
    deps = Deps(
        settings=loaded,
        sms=scheduler.FakeProvider(),
        email=scheduler.FakeProvider(),
        enrich=False,
    )
    await asyncio.sleep(0.1)  # everything is due
    count_statements()
    profiler = cProfile.Profile() if args.cprofile else None
    cpu, wall = time.process_time(), time.perf_counter()
    if profiler:
        profiler.enable()
    sent = await send_all(deps, args.batch)
    if profiler:
        profiler.disable()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await close_db()
    total = sum(STATEMENTS.values())
    print(f"  sends         {sent}")
    print(f"  round trips   {total / sent:.2f} per send")
    print(f"  python CPU    {1000 * cpu / sent:.2f} ms per send ({sent / wall:.0f} sends/s wall)")
    for query, n in STATEMENTS.most_common(args.top):
        print(f"    {n / sent:6.2f}  {query}")
    if profiler:
        pstats.Stats(profiler).sort_stats("tottime").print_stats(args.cprofile)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=500)
    parser.add_argument("--batch", type=int, default=0, help="claim N per batch (0: send_step)")
    parser.add_argument("--top", type=int, default=25, help="statements to list")
    parser.add_argument("--cprofile", type=int, default=0, help="print the top N cProfile rows")
    asyncio.run(main(parser.parse_args()))

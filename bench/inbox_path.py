"""Cost of one inbound text on the webhook path: database and Redis round trips, CPU time, profile.

    .venv/bin/python bench/inbox_path.py --messages 400 [--profile 25]

Posts signed Twilio webhooks to the app in this process (no network, no second instance) and counts
what each one costs. The machine may be busy: round trips are exact, CPU time is per process
(`time.process_time`), so both stay meaningful under load where wall-clock latency does not.
The baseline is a signed POST to a bare Litestar endpoint that only verifies the signature.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import logging
import pstats
import sys
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from asgi_lifespan import LifespanManager
from litestar import Litestar, Request, post
from redis.asyncio import Redis
from redis.asyncio.client import Pipeline
from twilio.request_validator import RequestValidator

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from app.config import load_settings, use_settings  # noqa: E402
from app.integrations.twilio.signature import verify  # noqa: E402
from bench.inbox import TOKEN, env_for, fresh_database  # noqa: E402

PUBLIC = "http://127.0.0.1:9899"
SORT = "cumulative"


class Counter:
    """Counts statements sent to PostgreSQL and commands sent to Redis, pipelines as one."""

    def __init__(self) -> None:
        self.db = 0
        self.redis = 0
        self.statements: dict[str, int] = {}
        self.commands: dict[str, int] = {}

    def install(self) -> None:
        counter = self
        execute, inner = asyncpg.Connection.execute, asyncpg.Connection._execute
        redis_cmd, pipe_exec = Redis.execute_command, Pipeline.execute
        pipe_now = Pipeline.immediate_execute_command

        async def execute_(self: Any, query: str, *args: Any, **kw: Any) -> Any:
            if not args:  # simple-query protocol: BEGIN, COMMIT, ...
                counter.count(query)
            return await execute(self, query, *args, **kw)

        async def inner_(self: Any, query: str, *args: Any, **kw: Any) -> Any:
            counter.count(query)
            return await inner(self, query, *args, **kw)

        async def redis_(self: Any, *args: Any, **kw: Any) -> Any:
            counter.command(str(args[0]) if args else "?")
            return await redis_cmd(self, *args, **kw)

        async def pipe_(self: Any, *args: Any, **kw: Any) -> Any:
            names = [str(c[0][0]) for c in getattr(self, "command_stack", []) if c and c[0]]
            counter.command("pipeline(" + " ".join(names) + ")")
            return await pipe_exec(self, *args, **kw)

        async def pipe_now_(self: Any, *args: Any, **kw: Any) -> Any:
            counter.command(str(args[0]) if args else "?")
            return await pipe_now(self, *args, **kw)

        asyncpg.Connection.execute = execute_  # type: ignore[method-assign]
        asyncpg.Connection._execute = inner_  # type: ignore[method-assign]
        Redis.execute_command = redis_  # type: ignore[method-assign]
        Pipeline.execute = pipe_  # type: ignore[method-assign]
        Pipeline.immediate_execute_command = pipe_now_  # type: ignore[method-assign]

    def count(self, query: str) -> None:
        self.db += 1
        head = " ".join(query.split()[:4])[:60]
        self.statements[head] = self.statements.get(head, 0) + 1

    def command(self, name: str) -> None:
        self.redis += 1
        self.commands[name] = self.commands.get(name, 0) + 1

    def reset(self) -> None:
        self.db, self.redis, self.statements, self.commands = 0, 0, {}, {}


def options() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--messages", type=int, default=400)
    p.add_argument("--stores", type=int, default=10)
    p.add_argument("--agents", type=int, default=100)
    p.add_argument("--profile", type=int, default=0, help="print the top N functions by own time")
    p.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/bench_inbox_path")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/12")
    return p.parse_args()


def signed(validator: RequestValidator, seat: dict[str, Any], i: int) -> tuple[dict, dict]:
    form = {
        "MessageSid": f"SMpath{i:010d}",
        "From": seat["from"],
        "To": seat["to"],
        "Body": f"path-{i}",
        "NumMedia": "0",
    }
    sig = validator.compute_signature(PUBLIC + "/webhooks/twilio/sms", form)
    return form, {"X-Twilio-Signature": sig}


@post("/webhooks/twilio/sms", status_code=200)
async def bare(request: Request) -> str:
    form = dict(await request.form())
    ok = verify(
        TOKEN, PUBLIC + "/webhooks/twilio/sms", form, request.headers.get("x-twilio-signature")
    )
    return "<Response />" if ok else "bad"


async def post_all(
    client: httpx.AsyncClient, seats: list[dict[str, Any]], start: int, n: int
) -> float:
    validator = RequestValidator(TOKEN)
    cpu = time.process_time()
    for i in range(start, start + n):
        form, headers = signed(validator, seats[i % len(seats)], i)
        response = await client.post("/webhooks/twilio/sms", data=form, headers=headers)
        assert response.status_code == 200, response.text
    return (time.process_time() - cpu) / n * 1000


@contextmanager
def profiled(top: int) -> Iterator[None]:
    if not top:
        yield
        return
    prof = cProfile.Profile()
    prof.enable()
    yield
    prof.disable()
    pstats.Stats(prof).sort_stats(SORT).print_stats(top)


async def main() -> None:
    args = options()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    bench_args = argparse.Namespace(**vars(args), rate=0, ports="")
    settings = load_settings(env_for(bench_args, PUBLIC))
    use_settings(settings)
    from app.core.db import close_db, init_db, migrate
    from app.server import create_app
    from bench.inbox import seed

    await fresh_database(args.database)
    await migrate(settings)
    await init_db(settings)
    redis = Redis.from_url(args.redis)
    # A fresh database restarts outbox ids: arq results left by an earlier run would make each
    # text's dispatch enqueue look like a duplicate and hide a round trip.
    await redis.flushdb()
    seats = await seed(bench_args, redis)
    counter = Counter()
    counter.install()
    async with serve(Litestar([bare])) as client:
        await post_all(client, seats, 0, 50)
        base_cpu = await post_all(client, seats, 0, args.messages)
    async with serve(create_app(settings, manage_db=False)) as client:
        await post_all(client, seats, 0, 50)  # warm caches and prepared statements
        counter.reset()
        with profiled(args.profile):
            cpu = await post_all(client, seats, 50, args.messages)
    n = args.messages
    print(f"{n} inbound texts over {len(seats)} contacts in {args.stores} stores")
    print(
        f"per text: {counter.db / n:.2f} database round trips, {counter.redis / n:.2f} Redis commands"
    )
    for head, count in sorted(counter.statements.items(), key=lambda kv: -kv[1]):
        print(f"  {count / n:5.2f}  {head}")
    for name, count in sorted(counter.commands.items(), key=lambda kv: -kv[1]):
        print(f"  {count / n:5.2f}  Redis {name}")
    print(
        f"CPU per text: {cpu:.2f} ms (baseline, a signed POST to a bare endpoint: "
        f"{base_cpu:.2f} ms; ratio x{cpu / base_cpu:.1f})"
    )
    await redis.aclose()
    await close_db()


@asynccontextmanager
async def serve(app: Litestar) -> AsyncIterator[httpx.AsyncClient]:
    """The app in this loop and thread (lifespan included), so the profile sees the handler."""
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url=PUBLIC) as client:
            yield client


if __name__ == "__main__":
    asyncio.run(main())

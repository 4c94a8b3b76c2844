"""Chat latency: shopper websocket message -> agent websocket frame, across two app instances.

    .venv/bin/python -m bench.chat --agents 1000 --shoppers 1000 --stores 100 --rate 50 \\
        --messages 2000 --database postgres://postgres@127.0.0.1:5432/bench_chat

Shoppers' sockets are opened on one instance and agents' on the other, so every message crosses
Redis. Each visitor's chat is under way (contact and thread exist, an agent has it), as the SMS
bench seeds its conversations. Prints p50/p99 from the shopper's send to the frame at an agent
of that store, and the same percentiles for a raw Redis pub/sub round trip measured in this run
at the same rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

import websockets
from redis.asyncio import Redis

from app.accounts.sessions import COOKIE
from bench.inbox import env_for, fresh_database, pct, redis_baseline, wait_healthy
from bench.loadgen import collector_paused

ARRIVED: dict[str, float] = {}
SENT: dict[str, float] = {}
ERRORS: list[str] = []


def options() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--agents", type=int, default=1000)
    p.add_argument("--shoppers", type=int, default=1000)
    p.add_argument("--stores", type=int, default=100)
    p.add_argument("--rate", type=float, default=50.0, help="shopper messages per second")
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--database", default="postgres://postgres@127.0.0.1:5432/bench_chat")
    p.add_argument("--redis", default="redis://127.0.0.1:6379/11")
    p.add_argument("--ports", default="9810,9811")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--pool", type=int, default=4)
    return p.parse_args()


def bench_env(args: argparse.Namespace, public: str) -> dict[str, str]:
    """Every shopper socket comes from 127.0.0.1 here: lift the per-IP limits for the run."""
    return {
        **env_for(args, public),
        "FOLLOWUP_CHAT_MESSAGES_PER_IP_PER_MINUTE": "1000000",
        "FOLLOWUP_CHAT_CONNECTIONS_PER_IP_PER_MINUTE": "1000000",
    }


async def seed(args: argparse.Namespace, redis: Redis) -> tuple[list[str], list[str]]:
    """Stores with chat on; agents with sessions; visitors with tokens. Returns (agent session
    tokens, visitor tokens), both ordered by store."""
    from app.accounts import sessions
    from app.accounts.models import Agent
    from app.checkouts.models import Contact
    from app.core.timeutil import utcnow
    from app.stores.models import Platform, Store
    from app.stores.services import create_store
    from inbox import chat
    from inbox.models import ChatVisitor, Conversation

    agents, visitors = [], []
    chat_on = {"enabled": True, "start": "00:00", "end": "23:59", "weekends": True}
    for s in range(args.stores):
        issued = await create_store(platform=Platform.CUSTOM, domain=f"chat{s}.example")
        await Store.filter(id=issued.store.id).update(settings={"chat": chat_on})
        staff = []
        for a in range(max(args.agents // args.stores, 1)):
            agent = await Agent.create(
                store=issued.store, email=f"c{s}-{a}@bench.example", name=f"c{s}-{a}"
            )
            staff.append(agent)
            token, _ = await sessions.create(redis, agent.id, issued.store.id, "agent")
            agents.append(token)
        for v in range(max(args.shoppers // args.stores, 1)):
            # A chat under way: its contact and thread exist and an agent has it (as in
            # bench/inbox.py), so the path timed is a message in a live conversation.
            contact = await Contact.create(store=issued.store, email=f"v{s}-{v}@bench.example")
            await Conversation.create(
                store=issued.store,
                contact=contact,
                opened_at=utcnow(),
                waiting_since=utcnow(),
                assignee=staff[v % len(staff)],
            )
            key = f"{s:08x}{v:08x}".ljust(32, "0")
            await ChatVisitor.create(store_id=issued.store.id, key=key, contact=contact)
            visitors.append(chat.visitor_token(issued.store.id, key))
    return agents, visitors


async def agent_socket(url: str, token: str) -> Any:
    ws = await websockets.connect(
        url + "/inbox/ws",
        additional_headers={"Cookie": f"{COOKIE}={token}"},
        max_queue=None,
        ping_interval=None,
        open_timeout=60,
    )
    json.loads(await ws.recv())  # hello
    return ws


async def listen(ws: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in ws:
            now = time.perf_counter()
            frame = json.loads(raw)
            if frame.get("type") == "message" and frame["message"]["channel"] == "chat":
                ARRIVED.setdefault(frame["message"]["body"], now)


async def shopper_socket(url: str, token: str) -> Any:
    ws = await websockets.connect(
        url + "/chat/v1/ws?token=" + token, max_queue=None, ping_interval=None, open_timeout=60
    )
    json.loads(await ws.recv())  # hello
    return ws


async def drain(ws: Any) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        async for raw in ws:
            frame = json.loads(raw)
            if frame.get("type") == "error":
                ERRORS.append(frame.get("code", "?"))


async def in_batches(coros: list[Any], size: int = 100) -> list[Any]:
    done: list[Any] = []
    for start in range(0, len(coros), size):
        done += await asyncio.gather(*coros[start : start + size])
    return done


async def send_all(args: argparse.Namespace, shoppers: list[Any]) -> None:
    start = time.perf_counter()
    for i in range(args.messages):
        delay = start + i / args.rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        body = f"chat-bench-{i}"
        SENT[body] = time.perf_counter()
        frame = {"type": "message", "body": body, "client_id": f"bench{i:08d}"}
        await shoppers[i % len(shoppers)].send(json.dumps(frame))


async def settle(expected: int, quiet: float = 10.0) -> None:
    seen, last = -1, time.perf_counter()
    while len(ARRIVED) < expected and time.perf_counter() - last < quiet:
        if len(ARRIVED) != seen:
            seen, last = len(ARRIVED), time.perf_counter()
        await asyncio.sleep(0.2)


async def main() -> None:
    args = options()
    from app.config import load_settings, use_settings

    urls = [f"http://127.0.0.1:{p}" for p in args.ports.split(",")]
    settings = load_settings(bench_env(args, urls[0]))
    use_settings(settings)
    from app.core.db import close_db, init_db, migrate

    await fresh_database(args.database)
    await migrate(settings)
    await init_db(settings)
    redis = Redis.from_url(args.redis)
    await redis.flushdb()
    agents, visitors = await seed(args, redis)
    print(f"seeded {args.stores} stores, {len(agents)} agents, {len(visitors)} chat visitors")
    procs = start(args, urls)
    try:
        await wait_healthy(urls)
        ws_urls = [u.replace("http", "ws") for u in urls]
        agent_sockets = await in_batches([agent_socket(ws_urls[1], t) for t in agents])
        listeners = [asyncio.create_task(listen(ws)) for ws in agent_sockets]
        shoppers = await in_batches([shopper_socket(ws_urls[0], t) for t in visitors])
        drains = [asyncio.create_task(drain(ws)) for ws in shoppers]
        await asyncio.sleep(3)
        with collector_paused():  # the generator's own collections are not the app's latency
            await send_all(args, shoppers)
            await settle(len(SENT))
        lat = [ARRIVED[b] - SENT[b] for b in SENT if b in ARRIVED]
        base = await redis_baseline(args.redis, min(args.messages, 2000), args.rate)
        report(args, lat, base, len(agents), len(shoppers))
        for task in (*listeners, *drains):
            task.cancel()
    finally:
        for p in procs:
            p.terminate()
        for p in procs:
            p.wait(10)
        await redis.aclose()
        await close_db()


def start(args: argparse.Namespace, urls: list[str]) -> list[Any]:
    """Each instance as production starts it, `followup serve`, with the bench's environment."""
    import subprocess
    import sys
    from pathlib import Path

    followup = str(Path(sys.executable).with_name("followup"))
    root = Path(__file__).resolve().parents[1]
    return [
        subprocess.Popen(
            [
                followup,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                port,
                "--workers",
                str(args.workers),
            ],
            cwd=root,
            env=bench_env(args, urls[0]),
        )
        for port in args.ports.split(",")
    ]


def report(
    args: argparse.Namespace, lat: list[float], base: list[float], agents: int, shoppers: int
) -> None:
    if len(lat) < 2:
        print(
            f"only {len(lat)} of {len(SENT)} messages reached an agent; error frames {ERRORS[:5]}"
        )
        return
    p50, p99 = pct(lat, 50), pct(lat, 99)
    b50, b99 = pct(base, 50), pct(base, 99)
    print(
        f"{agents} agent sockets on one instance, {shoppers} shopper sockets on the other; "
        f"messages {len(SENT)} at {args.rate:g}/s, at an agent: {len(lat)} "
        f"(lost {len(SENT) - len(lat)}; error frames {len(ERRORS)} {sorted(set(ERRORS))})"
    )
    print(
        f"shopper -> agent frame: p50 {p50:.1f} ms, p99 {p99:.1f} ms, max {max(lat) * 1000:.1f} ms"
    )
    print(f"baseline raw Redis pub/sub round trip: p50 {b50:.2f} ms, p99 {b99:.2f} ms")
    print(f"ratio chat/baseline: p50 x{p50 / b50:.0f}, p99 x{p99 / b99:.0f}")


if __name__ == "__main__":
    asyncio.run(main())

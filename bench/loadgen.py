"""Loopback HTTP load: closed-loop throughput and open-loop fixed-rate latency, with aiohttp."""

from __future__ import annotations

import asyncio
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass

import aiohttp

Request = tuple[str, bytes, dict[str, str]]


@dataclass
class Result:
    sent: int
    ok: int
    seconds: float
    latencies_ms: list[float]

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


async def throughput(make: Callable[[int], Request], seconds: float, connections: int) -> Result:
    """As many requests as `connections` keep-alive clients can push in `seconds`."""
    deadline = time.perf_counter() + seconds
    counter = iter(range(10**9))
    ok = sent = 0
    latencies: list[float] = []
    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def client() -> None:
            nonlocal ok, sent
            while time.perf_counter() < deadline:
                url, body, headers = make(next(counter))
                started = time.perf_counter()
                async with session.post(url, data=body, headers=headers) as response:
                    await response.read()
                    sent += 1
                    ok += response.status == 200
                latencies.append((time.perf_counter() - started) * 1000)

        start = time.perf_counter()
        await asyncio.gather(*(client() for _ in range(connections)))
        elapsed = time.perf_counter() - start
    return Result(sent, ok, elapsed, latencies)


async def fixed_rate(make: Callable[[int], Request], rate: int, seconds: float) -> Result:
    """Open loop: requests start on a fixed schedule whatever the server does, so queueing shows."""
    total = int(rate * seconds)
    latencies: list[float] = []
    ok = 0
    connector = aiohttp.TCPConnector(limit=512)
    async with aiohttp.ClientSession(connector=connector) as session:

        async def one(index: int, due: float) -> None:
            nonlocal ok
            delay = due - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            url, body, headers = make(index)
            async with session.post(url, data=body, headers=headers) as response:
                await response.read()
                ok += response.status == 200
            latencies.append((time.perf_counter() - due) * 1000)

        start = time.perf_counter() + 0.2
        await asyncio.gather(*(one(i, start + i / rate) for i in range(total)))
        elapsed = time.perf_counter() - start
    return Result(total, ok, elapsed, latencies)

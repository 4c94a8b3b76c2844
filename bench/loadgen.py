"""Loopback HTTP load: closed-loop throughput (aiohttp) and open-loop fixed-rate latency (raw HTTP/1.1)."""

from __future__ import annotations

import asyncio
import gc
import re
import statistics
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from urllib.parse import urlsplit

import aiohttp

Request = tuple[str, bytes, dict[str, str]]


@contextmanager
def collector_paused() -> Iterator[None]:
    """The generator's own garbage collection stays out of the figures while it times a server.

    A full collection of a generator's heap (every request prepared ahead, every latency kept,
    hundreds of sockets) pauses it for tens of milliseconds (34.6 ms seen in an ingest run, up to
    108 ms in the inbox bench), and every answer that arrives meanwhile is read late: time the
    figures would charge to the server. The heap is frozen and collection paused for the block;
    reference counting still frees what it holds. Nested blocks leave collection as they found it.
    """
    enabled = gc.isenabled()
    gc.collect()
    gc.freeze()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


@dataclass
class Result:
    sent: int
    ok: int
    seconds: float
    latencies_ms: list[float]
    lag_ms: list[float] = field(default_factory=list)
    """Open loop: how late the generator itself issued each request (counted in the latencies);
    a request then waiting for a free connection is the server's queueing, not lag."""

    @property
    def per_second(self) -> float:
        return self.ok / self.seconds if self.seconds else 0.0

    def pct(self, q: float) -> float:
        if not self.latencies_ms:
            return float("nan")
        ordered = sorted(self.latencies_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    def lag_pct(self, q: float) -> float:
        ordered = sorted(self.lag_ms)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")

    @property
    def p50(self) -> float:
        return statistics.median(self.latencies_ms) if self.latencies_ms else float("nan")


async def throughput(make: Callable[[int], Request], seconds: float, connections: int) -> Result:
    """As many requests as `connections` keep-alive clients can push in `seconds`."""
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

        with collector_paused():
            start = time.perf_counter()
            deadline = start + seconds
            await asyncio.gather(*(client() for _ in range(connections)))
            elapsed = time.perf_counter() - start
    return Result(sent, ok, elapsed, latencies)


async def fixed_rate(
    make: Callable[[int], Request],
    rate: float,
    seconds: float,
    connections: int = 256,
    issued: Callable[[int, float], None] | None = None,
) -> Result:
    """Open loop: requests start on a fixed schedule whatever the server does, so queueing shows.

    Latency counts from each request's due time (`time.perf_counter()`; `issued(index, due)` is
    told each one as it goes). Every request is signed and encoded before the clock starts, and
    goes out as raw HTTP/1.1 bytes on keep-alive connections (asyncio protocols, no client
    library; the connections split evenly between the addresses the requests name), so the
    generator keeps to its schedule at rates an HTTP client library in Python cannot: what the
    latencies show is the server's queueing. A due request with no idle connection to its address
    waits in the generator's backlog, its wait counted in.
    """
    total = round(rate * seconds)
    requests = [make(i) for i in range(total)]
    loop = asyncio.get_running_loop()
    tally = _Tally(loop)
    pools = {address: _Pool(tally) for address in {_address(url) for url, _, _ in requests}}
    wire = [(pools[_address(request[0])], _encode(request)) for request in requests]
    each = max(1, connections // max(1, len(pools)))
    for (host, port), pool in pools.items():
        opened = await asyncio.gather(
            *(loop.create_connection(partial(_Connection, pool), host, port) for _ in range(each))
        )
        for transport, connection in opened:  # uvloop may call connection_made a little later
            connection.transport = transport
            pool.idle.append(connection)
    with collector_paused():  # before the clock: the collection it makes is not timed
        start = time.perf_counter() + 0.2
        try:
            for index, (pool, data) in enumerate(wire):
                due = start + index / rate
                delay = due - time.perf_counter()
                if delay > 0.0005:  # requests already due go out together, without another wake-up
                    await asyncio.sleep(delay)
                pool.submit(due, data)
                if issued is not None:
                    issued(index, due)
            try:
                await asyncio.wait_for(tally.finished(total), timeout=max(30.0, seconds))
            except TimeoutError:
                missing = total - len(tally.latencies)
                raise RuntimeError(
                    f"{missing} requests still unanswered long after the run"
                ) from None
            elapsed = time.perf_counter() - start
        finally:
            for pool in pools.values():
                for connection in pool.connections:
                    connection.transport.close()
    return Result(total, tally.ok, elapsed, tally.latencies, tally.lag)


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80


def _encode(request: Request) -> bytes:
    url, body, headers = request
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"POST {target} HTTP/1.1", f"Host: {parts.netloc}", f"Content-Length: {len(body)}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class _Tally:
    """Every answer of a run, from all its connections."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.latencies: list[float] = []
        self.lag: list[float] = []
        self.ok = 0
        self.done = loop.create_future()
        self.expected = -1

    def record(self, due: float, status: int) -> None:
        self.latencies.append((time.perf_counter() - due) * 1000)
        self.ok += status == 200
        if len(self.latencies) == self.expected and not self.done.done():
            self.done.set_result(None)

    def fail(self, reason: str) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(reason))

    async def finished(self, total: int) -> None:
        self.expected = total
        if len(self.latencies) < total:
            await self.done


class _Pool:
    """One address's idle connections and its backlog of due requests."""

    def __init__(self, tally: _Tally) -> None:
        self.tally = tally
        self.idle: deque[_Connection] = deque()
        self.backlog: deque[tuple[float, bytes]] = deque()
        self.connections: list[_Connection] = []

    def submit(self, due: float, data: bytes) -> None:
        self.tally.lag.append((time.perf_counter() - due) * 1000)  # the generator's own lateness
        if self.idle:
            self.idle.popleft().send(due, data)
        else:
            self.backlog.append((due, data))

    def answered(self, connection: _Connection, due: float, status: int) -> None:
        """`status` 0: the connection was lost before its answer (counted, not ok)."""
        self.tally.record(due, status)
        if connection.lost:
            pass
        elif self.backlog:
            connection.send(*self.backlog.popleft())
        else:
            self.idle.append(connection)

    def fail(self, reason: str) -> None:
        self.tally.fail(reason)


class _Connection(asyncio.Protocol):
    """One keep-alive connection, one request at a time; a response is read by its
    Content-Length (every endpoint measured here sends one)."""

    def __init__(self, pool: _Pool) -> None:
        self.pool = pool
        self.buffer = b""
        self.due = 0.0
        self.busy = self.lost = False
        self.transport: asyncio.Transport
        pool.connections.append(self)

    def send(self, due: float, data: bytes) -> None:
        self.due, self.busy = due, True
        self.transport.write(data)

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        end = self.buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = self.buffer[:end].decode("latin-1")
        length = re.search(r"(?im)^content-length:\s*(\d+)", head)
        if length is None:
            self.pool.fail(f"an answer without Content-Length: {head[:200]!r}")
            return
        size = end + 4 + int(length.group(1))
        if len(self.buffer) < size:
            return
        self.buffer, self.busy = self.buffer[size:], False
        self.pool.answered(self, self.due, int(head[9:12]))

    def connection_lost(self, exc: Exception | None) -> None:
        """A closed connection leaves the pool; a request it carried counts as failed."""
        self.lost = True
        if self in self.pool.idle:
            self.pool.idle.remove(self)
        if self.busy:
            self.busy = False
            self.pool.answered(self, self.due, 0)
        if not self.pool.idle and not any(not c.lost for c in self.pool.connections):
            self.pool.fail(f"the server closed every connection ({exc!r})")

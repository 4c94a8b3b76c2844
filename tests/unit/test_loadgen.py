"""bench/loadgen.py's open loop: every request answered once, queueing shown, bad answers loud.

The server here is a few lines of asyncio speaking HTTP/1.1 on loopback, one request at a time
per connection, after a fixed pause, so the generator meets a server slower than its schedule.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Callable

import pytest

from bench.loadgen import Request, fixed_rate


def _server(pause: float, head: bytes) -> Callable[..., object]:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while request := await reader.readuntil(b"\r\n\r\n"):
            size = re.search(rb"(?i)content-length: (\d+)", request)
            await reader.readexactly(int(size.group(1)) if size else 0)
            await asyncio.sleep(pause)
            writer.write(head + b"ok")
            await writer.drain()

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await handle(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    return serve


@pytest.fixture
async def answering() -> AsyncIterator[Callable[..., object]]:
    servers: list[asyncio.Server] = []

    async def start(pause: float, head: bytes) -> Callable[[int], Request]:
        server = await asyncio.start_server(_server(pause, head), "127.0.0.1", 0)
        servers.append(server)
        port = server.sockets[0].getsockname()[1]
        return lambda i: (f"http://127.0.0.1:{port}/hook", f'{{"n":{i}}}'.encode(), {"X-N": str(i)})

    yield start
    for server in servers:
        server.close()


OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"


async def test_every_request_is_answered_once(answering):
    make = await answering(0.0, OK)
    result = await fixed_rate(make, rate=400, seconds=0.25, connections=8)
    assert (result.sent, result.ok, len(result.latencies_ms), len(result.lag_ms)) == (
        100,
        100,
        100,
        100,
    )


async def test_a_server_slower_than_the_schedule_shows_as_queueing(answering):
    """One connection, a server needing 20 ms a request, one due every 5 ms: each waits longer."""
    make = await answering(0.02, OK)
    result = await fixed_rate(make, rate=200, seconds=0.25, connections=1)
    assert result.ok == 50
    first, last = result.latencies_ms[0], result.latencies_ms[-1]
    assert last > 10 * first  # counted from the due time, so the backlog is in the figure


async def test_an_answer_without_a_length_fails_the_run(answering):
    make = await answering(0.0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    with pytest.raises(RuntimeError, match="without Content-Length"):
        await fixed_rate(make, rate=100, seconds=0.1, connections=2)


async def test_a_non_200_answer_is_counted_but_not_ok(answering):
    make = await answering(0.0, OK.replace(b"200 OK", b"503 Service Unavailable"))
    result = await fixed_rate(make, rate=100, seconds=0.1, connections=2)
    assert (result.sent, result.ok, len(result.latencies_ms)) == (10, 0, 10)

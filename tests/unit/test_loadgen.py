"""bench/loadgen.py's open loop: every request answered once, queueing shown, bad answers loud.

The servers here are a few lines of asyncio speaking HTTP/1.1 on loopback, one request at a time
per connection, after a fixed pause, so the generator meets a server slower than its schedule.
"""

from __future__ import annotations

import asyncio
import gc
import itertools
import re
from collections import Counter
from collections.abc import AsyncIterator, Callable

import pytest

from bench.loadgen import Request, fixed_rate, throughput

OK = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\n"


class Servers:
    def __init__(self) -> None:
        self.running: list[asyncio.Server] = []
        self.requests: Counter[int] = Counter()  # by port
        self.collecting: Counter[bool] = Counter()  # the process's collector, as each request came

    async def start(self, pause: float, head: bytes) -> Callable[[int], Request]:
        """A server answering every request with `head` + b"ok"; returns a request maker for it."""
        port = 0

        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            try:
                while request := await reader.readuntil(b"\r\n\r\n"):
                    size = re.search(rb"(?i)content-length: (\d+)", request)
                    await reader.readexactly(int(size.group(1)) if size else 0)
                    self.requests[port] += 1
                    self.collecting[gc.isenabled()] += 1
                    await asyncio.sleep(pause)
                    writer.write(head + b"ok")
                    await writer.drain()
            except (asyncio.IncompleteReadError, ConnectionError):
                writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        self.running.append(server)
        port = server.sockets[0].getsockname()[1]
        url = f"http://127.0.0.1:{port}/hook"
        return lambda i: (url, f'{{"n":{i}}}'.encode(), {"X-N": str(i)})


@pytest.fixture
async def servers() -> AsyncIterator[Servers]:
    found = Servers()
    yield found
    for server in found.running:
        server.close()


async def test_every_request_is_answered_once(servers):
    make = await servers.start(0.0, OK)
    result = await fixed_rate(make, rate=400, seconds=0.25, connections=8)
    assert (result.sent, result.ok, len(result.latencies_ms)) == (100, 100, 100)
    assert len(result.lag_ms) == 100
    assert sum(servers.requests.values()) == 100


async def test_requests_go_to_the_address_each_names(servers):
    """Two servers, as the inbox bench's two instances: each gets the requests naming it."""
    makers = [await servers.start(0.0, OK), await servers.start(0.0, OK)]
    issued: list[tuple[int, float]] = []
    result = await fixed_rate(
        lambda i: makers[i % 2](i),
        rate=400,
        seconds=0.1,
        connections=4,
        issued=lambda *a: issued.append(a),
    )
    assert result.ok == 40
    assert sorted(servers.requests.values()) == [20, 20]
    assert [i for i, _ in issued] == list(range(40))
    assert all(a < b for (_, a), (_, b) in itertools.pairwise(issued))


async def test_a_server_slower_than_the_schedule_shows_as_queueing(servers):
    """One connection, a server needing 20 ms a request, one due every 5 ms: each waits longer."""
    make = await servers.start(0.02, OK)
    result = await fixed_rate(make, rate=200, seconds=0.25, connections=1)
    assert result.ok == 50
    first, last = result.latencies_ms[0], result.latencies_ms[-1]
    assert last > 10 * first  # counted from the due time, so the backlog is in the figure


async def test_an_answer_without_a_length_fails_the_run(servers):
    make = await servers.start(0.0, b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n")
    with pytest.raises(RuntimeError, match="without Content-Length"):
        await fixed_rate(make, rate=100, seconds=0.1, connections=2)


async def test_a_non_200_answer_is_counted_but_not_ok(servers):
    make = await servers.start(0.0, OK.replace(b"200 OK", b"503 Service Unavailable"))
    result = await fixed_rate(make, rate=100, seconds=0.1, connections=2)
    assert (result.sent, result.ok, len(result.latencies_ms)) == (10, 0, 10)


@pytest.mark.parametrize("loop", ["open", "closed"])
async def test_the_generator_does_not_collect_garbage_while_it_times(servers, loop):
    """A full collection of the generator's heap pauses its reading of answers for tens of
    milliseconds, which the figures would charge to the server: both loops pause the collector
    while they time and leave it as they found it (the inbox bench nests them in its own pause).
    """
    make = await servers.start(0.0, OK)
    assert gc.isenabled()
    if loop == "open":
        await fixed_rate(make, rate=400, seconds=0.1, connections=4)
    else:
        await throughput(make, 0.1, 4)
    assert servers.collecting[False] > 0
    assert servers.collecting[True] == 0
    assert gc.isenabled()

    gc.disable()
    try:
        await fixed_rate(make, rate=400, seconds=0.05, connections=2)
        assert not gc.isenabled()
    finally:
        gc.enable()

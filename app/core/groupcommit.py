"""Group commit: every row waiting at one moment is written with one transaction and one commit.

Used for webhook deliveries (`app.ingest.services`: one statement per batch) and for recording
providers' answers to recovery sends (`app.recovery.sending._deliver`: one commit per batch).
A request hands its row to the batcher of its event loop and awaits a future. The batcher writes
at once when it is idle; while a write is in flight, new rows wait for it to commit and then go
together in the next one, so under load a row's gathering time is bounded by one commit and a
batch by MAX_BATCH rows. Each future resolves only after the commit that holds its row, so an
acknowledgement still means "stored durably". A failed write fails exactly the rows of that batch.

A request cancelled while it waits cancels only its own future: its row stays in the batch and is
written once (the sender's retry then finds it as a duplicate), never dropped half-way.
Nothing here is shared between processes; several web processes each batch their own requests and
the database's unique keys settle duplicates between them, as they did one row at a time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

MAX_BATCH = 256
"""Rows in one statement at most: a bounded statement and a bounded wait for the rows behind it."""

Row = TypeVar("Row")
Result = TypeVar("Result")
# Stores a batch in one transaction and returns one result per row, in order.
Write = Callable[[Sequence[Row]], Awaitable[Sequence[Result]]]


class BatchFailed(Exception):
    """The write that held this row failed and rolled back: nothing of the batch was stored."""


class GroupCommit(Generic[Row, Result]):
    """Collects rows from concurrent callers and writes them together, one batch at a time.

    `write` stores a batch in one transaction and returns one result per row, in order.
    """

    def __init__(self, write: Write[Row, Result], max_batch: int = MAX_BATCH) -> None:
        self._write = write
        self._max_batch = max_batch
        self._waiting: list[tuple[Row, asyncio.Future[Result]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def submit(self, row: Row) -> Result:
        """The row's result once the batch holding it has committed; BatchFailed if it did not."""
        future: asyncio.Future[Result] = asyncio.get_running_loop().create_future()
        self._waiting.append((row, future))
        if self._writer is None:
            self._writer = asyncio.create_task(self._drain())
        return await future

    async def close(self) -> None:
        """Wait until every row handed in so far is written (at shutdown)."""
        while self._writer is not None:
            await asyncio.shield(self._writer)

    async def _drain(self) -> None:
        try:
            while self._waiting:
                batch = self._waiting[: self._max_batch]
                del self._waiting[: self._max_batch]
                await self._flush(batch)
        finally:
            self._writer = None
            for _, future in self._waiting:  # only if this task itself was cancelled
                _fail(future, BatchFailed("the batch writer stopped"))
            if self._waiting:
                self._waiting.clear()

    async def _flush(self, batch: list[tuple[Row, asyncio.Future[Result]]]) -> None:
        try:
            results = await self._write([row for row, _ in batch])
        except Exception as exc:  # any driver error: every row of this batch was rolled back
            log.error("group commit of %d rows failed: %r", len(batch), exc)
            for _, future in batch:
                _fail(future, BatchFailed(str(exc)))
            return
        except asyncio.CancelledError:  # the loop is shutting down: no caller may wait forever
            for _, future in batch:
                _fail(future, BatchFailed("the batch writer was cancelled"))
            raise
        for (_, future), result in zip(batch, results, strict=True):
            if not future.done():  # a cancelled caller: its row is stored all the same
                future.set_result(result)


def _fail(future: asyncio.Future[Result], exc: BatchFailed) -> None:
    if not future.done():
        future.set_exception(exc)


class PerLoop(Generic[Row, Result]):
    """One `GroupCommit` per event loop (a process runs one; tests run several in turn)."""

    def __init__(self, write: Write[Row, Result], max_batch: int = MAX_BATCH) -> None:
        self._write = write
        self._max_batch = max_batch
        self._batchers: dict[asyncio.AbstractEventLoop, GroupCommit[Row, Result]] = {}

    def get(self) -> GroupCommit[Row, Result]:
        loop = asyncio.get_running_loop()
        batcher = self._batchers.get(loop)
        if batcher is None:
            for closed in [other for other in self._batchers if other.is_closed()]:
                del self._batchers[closed]
            batcher = self._batchers[loop] = GroupCommit(self._write, self._max_batch)
        return batcher

    async def submit(self, row: Row) -> Result:
        return await self.get().submit(row)

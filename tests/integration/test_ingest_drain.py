"""The drain job: claimed rows are processed as read, failures are recorded once, and go on."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

import pytest

from app.ingest import processing
from app.ingest.jobs import MAX_ATTEMPTS, drain_raw_events
from app.ingest.models import RawEvent, RawStatus, Source
from tests.factories import make_store

BOOM, ERASE = "test/boom", "test/erase-then-boom"


class Boom(RuntimeError):
    pass


async def _boom(store: Any, raw: RawEvent, payload: dict[str, Any]) -> processing.Outcome:
    raise Boom(f"cannot handle {raw.delivery_id}")


async def _erase_then_boom(
    store: Any, raw: RawEvent, payload: dict[str, Any]
) -> processing.Outcome:
    await RawEvent.filter(id=raw.id).delete()  # as a privacy erasure would, mid-processing
    raise Boom("row gone")


@pytest.fixture
def failing_topics() -> Iterator[None]:
    """Shopify's topic map plus two handlers that always fail, registered like any vendor's map."""
    shopify = processing.topics_for(Source.SHOPIFY)
    handlers = {**shopify.handle, BOOM: _boom, ERASE: _erase_then_boom}
    processing.register(dataclasses.replace(shopify, handle=handlers))
    yield
    processing.register(shopify)


async def _raw(store: Any, topic: str, delivery: str, attempts: int = 0) -> RawEvent:
    return await RawEvent.create(
        store=store,
        source=Source.SHOPIFY,
        topic=topic,
        delivery_id=delivery,
        body="{}",
        attempts=attempts,
    )


async def test_failures_are_recorded_and_the_drain_goes_on(settings, queue, failing_topics):
    store = (await make_store("shopify")).store
    erased = await _raw(store, ERASE, "erased")
    first = await _raw(store, BOOM, "first")
    last = await _raw(store, BOOM, "last", attempts=MAX_ATTEMPTS - 1)
    ignored = await _raw(store, "test/unknown", "ignored")

    assert await drain_raw_events({"redis": queue}) == 4
    assert not await RawEvent.exists(id=erased.id)
    first = await RawEvent.get(id=first.id)
    assert (first.status, first.attempts) == (RawStatus.PENDING, 1)  # retried when the claim lapses
    assert first.error == "Boom('cannot handle first')"
    last = await RawEvent.get(id=last.id)
    assert (last.status, last.attempts) == (RawStatus.FAILED, MAX_ATTEMPTS)
    assert last.error == "Boom('cannot handle last')"
    ignored = await RawEvent.get(id=ignored.id)
    assert (ignored.status, ignored.attempts) == (RawStatus.IGNORED, 1)

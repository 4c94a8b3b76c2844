"""Segment forwarding through Segment's own Python client, to a fake Segment on loopback."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import pytest
from tortoise import connections

from app.config import get_settings, use_settings
from app.core import events
from app.core.outbox import OutboxEvent
from app.integrations.segment.forward import set_write_key
from app.integrations.segment.models import SegmentDestination
from tests.conftest import make_settings
from tests.factories import make_store
from tests.fakes.segment import FakeSegment
from tests.fakes.server import LoopbackServer
from tests.hooks.conftest import abandoned_checkout


@pytest.fixture
async def segment(settings) -> AsyncIterator[FakeSegment]:
    fake = FakeSegment()
    server = await LoopbackServer(fake).start()
    previous = get_settings()
    use_settings(make_settings(FOLLOWUP_SEGMENT_HOST=server.url))
    try:
        yield fake
    finally:
        use_settings(previous)
        await server.stop()


async def test_abandoned_checkout_is_a_track_call_with_the_shoppers_identity(segment) -> None:
    issued = await make_store("custom")
    await set_write_key(issued.store.id, "wk_live_abc123")
    checkout = await abandoned_checkout(issued.store, "seg-1")
    event_id = await OutboxEvent.get(name=events.CHECKOUT_ABANDONED).values_list("id", flat=True)
    assert await events.dispatch(event_id)  # type: ignore[arg-type]
    assert len(segment.batches) == 1 and segment.batches[0]["writeKey"] == "wk_live_abc123"
    (call,) = segment.calls
    assert call["type"] == "track" and call["event"] == "Checkout Abandoned"
    assert call["anonymousId"] == f"followup-contact-{checkout.contact_id}"  # type: ignore[attr-defined]
    assert call["context"]["traits"] == {"email": "seg-1@example.com", "first_name": "Ada"}
    assert call["messageId"] == f"followup-{event_id}"
    props = call["properties"]
    assert props["checkout_id"] == "seg-1" and props["value"] == 62.5
    assert props["currency"] == "USD"
    assert props["products"] == [{"sku": "F-1", "name": "Fern", "price": 31.25, "quantity": 2}]


async def test_a_failing_segment_leaves_the_event_for_a_retry_with_the_same_message_id(
    segment,
) -> None:
    issued = await make_store("custom")
    await set_write_key(issued.store.id, "wk_live_abc123")
    await abandoned_checkout(issued.store, "seg-2")
    event = await OutboxEvent.get(name=events.CHECKOUT_ABANDONED)
    segment.script.append(500)
    with pytest.raises(Exception, match="try again"):
        await events.dispatch(event.id)
    await event.refresh_from_db()
    assert event.dispatched_at is None and event.attempts == 1
    assert await events.dispatch(event.id)
    assert [c["messageId"] for c in segment.calls] == [f"followup-{event.id}"]


async def test_events_dispatched_together_fail_alone_and_only_the_failed_run_again(
    segment,
) -> None:
    """One job dispatches a batch's events: one failing event is counted and kept for the retry;
    the others are dispatched, and the retry does not send them again."""
    issued = await make_store("custom")
    await set_write_key(issued.store.id, "wk_live_abc123")
    for token in ("seg-a", "seg-b", "seg-c"):
        await abandoned_checkout(issued.store, token)
    ids = list(
        await OutboxEvent.filter(name=events.CHECKOUT_ABANDONED)
        .order_by("id")
        .values_list("id", flat=True)
    )
    segment.script.append(500)  # the first event's call fails
    with pytest.raises(events.DispatchFailed, match="1 of 3 events failed"):
        await events.dispatch_many(ids)  # type: ignore[arg-type]
    rows = await OutboxEvent.filter(id__in=ids).order_by("id")
    assert [(r.dispatched_at is None, r.attempts) for r in rows] == [
        (True, 1),
        (False, 1),
        (False, 1),
    ]
    assert await events.dispatch_many(ids) == 1  # type: ignore[arg-type]
    assert sorted(c["messageId"] for c in segment.calls) == sorted(f"followup-{i}" for i in ids)
    assert await OutboxEvent.filter(id__in=ids, dispatched_at=None).count() == 0


async def test_one_dispatch_job_reads_each_stores_destination_once(segment, caplog) -> None:
    """The events of a batch share their stores: the Segment key and the webhook subscriptions
    are read once per store per job, not once per event (read per event, outside a job)."""
    stores = [(await make_store("custom", domain=f"shop{i}.example.com")).store for i in range(2)]
    for i, store in enumerate(stores):
        await set_write_key(store.id, f"wk_live_{i}")
        for token in ("a", "b", "c"):
            await abandoned_checkout(store, f"seg-{i}-{token}")
    ids = list(
        await OutboxEvent.filter(name=events.CHECKOUT_ABANDONED).values_list("id", flat=True)
    )

    def reads(table: str) -> int:
        return sum(f'FROM "{table}"' in r.getMessage() for r in caplog.records)

    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        assert await events.dispatch_many(ids) == 6  # type: ignore[arg-type]
    assert (reads("segment_destination"), reads("hook_subscription")) == (2, 2)
    assert len(segment.calls) == 6

    caplog.clear()
    await OutboxEvent.all().update(dispatched_at=None)
    with caplog.at_level(logging.DEBUG, logger="tortoise.db_client"):
        for event_id in ids[:2]:
            assert await events.dispatch(event_id)  # type: ignore[arg-type]
    assert (reads("segment_destination"), reads("hook_subscription")) == (2, 2)


async def test_no_write_key_sends_nothing_and_the_key_is_encrypted_at_rest(segment) -> None:
    issued = await make_store("custom")
    await abandoned_checkout(issued.store, "seg-3")
    assert await events.dispatch(await OutboxEvent.get().values_list("id", flat=True))  # type: ignore[arg-type]
    assert segment.batches == []
    await set_write_key(issued.store.id, "wk_secret_value")
    _, rows = await connections.get("default").execute_query(
        "SELECT write_key FROM segment_destination"
    )
    stored = str(dict(rows[0])["write_key"])
    assert "wk_secret_value" not in stored and stored.startswith("gAAAA")
    assert (await SegmentDestination.get(store_id=issued.store.id)).write_key == "wk_secret_value"
    await set_write_key(issued.store.id, "")
    assert not await SegmentDestination.exists(store_id=issued.store.id)

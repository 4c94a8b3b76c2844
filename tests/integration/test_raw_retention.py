"""Handled webhook deliveries are deleted after FOLLOWUP_RAW_EVENT_DAYS; pending ones never are."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.config import ConfigError, load_settings, use_settings
from app.ingest.jobs import prune_raw_events
from app.ingest.models import RawEvent, RawStatus, Source
from app.worker import sweep
from tests.factories import make_store


async def delivery(store, status: RawStatus, age: timedelta, name: str) -> int:
    raw = await RawEvent.create(
        store=store,
        source=Source.SHOPIFY,
        topic="checkouts/update",
        delivery_id=name,
        body='{"email": "maya@example.com"}',
        status=status,
    )
    await RawEvent.filter(id=raw.id).update(received_at=datetime.now(UTC) - age)
    return raw.id


async def test_the_sweep_deletes_handled_deliveries_past_the_retention_and_keeps_the_rest(
    settings, queue
):
    store = (await make_store("shopify")).store
    old, recent = timedelta(days=31), timedelta(days=29)
    gone = [
        await delivery(store, RawStatus.PROCESSED, old, "processed-old"),
        await delivery(store, RawStatus.IGNORED, old, "ignored-old"),
        await delivery(store, RawStatus.FAILED, old, "failed-old"),
    ]
    kept = [
        await delivery(store, RawStatus.PENDING, timedelta(days=400), "never-processed"),
        await delivery(store, RawStatus.PROCESSED, recent, "processed-recent"),
        await delivery(store, RawStatus.FAILED, recent, "failed-recent"),
    ]
    counts = await sweep({"redis": queue})
    assert counts["raw_pruned"] == len(gone)
    assert sorted(await RawEvent.all().values_list("id", flat=True)) == sorted(kept)
    assert (await sweep({"redis": queue}))["raw_pruned"] == 0


async def test_the_retention_is_the_setting(settings, queue):
    store = (await make_store("shopify")).store
    await delivery(store, RawStatus.PROCESSED, timedelta(days=8), "week-old")
    day_old = await delivery(store, RawStatus.PROCESSED, timedelta(days=1), "day-old")
    use_settings(
        dataclasses.replace(
            settings, capture=dataclasses.replace(settings.capture, raw_event_days=7)
        )
    )
    assert await prune_raw_events(datetime.now(UTC)) == 1
    assert await RawEvent.all().values_list("id", flat=True) == [day_old]


async def test_a_long_backlog_goes_oldest_first_and_a_bounded_amount_per_sweep(settings):
    store = (await make_store("shopify")).store
    ids = [
        await delivery(store, RawStatus.PROCESSED, timedelta(days=90 - i), f"d{i}")
        for i in range(7)
    ]
    now = datetime.now(UTC)
    assert await prune_raw_events(now, chunk=2, most=3) == 3
    assert sorted(await RawEvent.all().values_list("id", flat=True)) == ids[3:]
    assert await prune_raw_events(now, chunk=2, most=100) == 4
    assert await RawEvent.all().count() == 0


@pytest.mark.parametrize("value", ["0", "3651", "thirty"])
def test_a_retention_outside_one_day_to_ten_years_is_refused(value):
    with pytest.raises(ConfigError, match="RAW_EVENT_DAYS"):
        load_settings({"FOLLOWUP_RAW_EVENT_DAYS": value})

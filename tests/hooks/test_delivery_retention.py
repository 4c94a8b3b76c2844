"""Finished outbound deliveries and their attempt log are deleted after FOLLOWUP_WEBHOOK_LOG_DAYS;
a delivery still owed never is."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from app.config import ConfigError, load_settings, use_settings
from app.hooks.jobs import hooks_sweep
from app.hooks.models import (
    DeliveryState,
    HookAttempt,
    HookDelivery,
    HookSubscription,
    SubscriptionSource,
)
from app.hooks.services import prune_deliveries
from tests.factories import make_store


async def delivery(subscription: HookSubscription, state: DeliveryState, age: timedelta) -> int:
    created = datetime.now(UTC) - age
    row = await HookDelivery.create(
        subscription=subscription,
        store_id=subscription.store_id,
        event_id=await HookDelivery.all().count() + 1,
        event="checkout.abandoned",
        webhook_id=f"msg_{state}_{age.days}",
        payload={"type": "checkout.abandoned", "data": {"email": "maya@example.com"}},
        state=state,
        next_attempt_at=created if state == DeliveryState.PENDING else None,
    )
    await HookDelivery.filter(id=row.id).update(created_at=created)
    await HookAttempt.create(delivery=row, at=created, status=500, duration_ms=12)
    return row.id


@pytest.fixture
async def subscription(settings) -> HookSubscription:
    store = (await make_store("custom")).store
    return await HookSubscription.create(
        store=store,
        target_url="https://hooks.example.com/in",
        events=["checkout.abandoned"],
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        source=SubscriptionSource.REST,
    )


async def test_the_sweep_deletes_finished_deliveries_with_their_log_and_keeps_what_is_owed(
    settings, queue, subscription
):
    old, recent = timedelta(days=31), timedelta(days=29)
    gone = [
        await delivery(subscription, DeliveryState.DELIVERED, old),
        await delivery(subscription, DeliveryState.FAILED, old),
    ]
    kept = [
        await delivery(subscription, DeliveryState.PENDING, timedelta(days=60)),
        await delivery(subscription, DeliveryState.DELIVERED, recent),
        await delivery(subscription, DeliveryState.FAILED, recent),
    ]
    await hooks_sweep({"redis": queue})
    assert sorted(await HookDelivery.all().values_list("id", flat=True)) == sorted(kept)
    logged = await HookAttempt.all().values_list("delivery_id", flat=True)
    assert sorted(logged) == sorted(kept)  # the attempt log went with its delivery
    assert not set(gone) & set(logged)
    assert await prune_deliveries(datetime.now(UTC)) == 0


async def test_the_retention_is_the_setting(settings, subscription):
    await delivery(subscription, DeliveryState.DELIVERED, timedelta(days=3))
    yesterday = await delivery(subscription, DeliveryState.DELIVERED, timedelta(days=1))
    use_settings(
        dataclasses.replace(settings, hooks=dataclasses.replace(settings.hooks, log_days=2))
    )
    assert await prune_deliveries(datetime.now(UTC)) == 1
    assert await HookDelivery.all().values_list("id", flat=True) == [yesterday]


@pytest.mark.parametrize("value", ["0", "3651"])
def test_a_log_retention_outside_one_day_to_ten_years_is_refused(value):
    with pytest.raises(ConfigError, match="WEBHOOK_LOG_DAYS"):
        load_settings({"FOLLOWUP_WEBHOOK_LOG_DAYS": value})

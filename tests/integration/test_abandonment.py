"""Abandonment: due times from the store threshold, once-only transitions, and the repair sweep."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from app.checkouts.models import Checkout, CheckoutStatus
from app.checkouts.services import mark_abandoned
from app.core import events
from app.core.outbox import OutboxEvent
from app.ingest.models import RawEvent, RawStatus
from app.worker import sweep
from tests.factories import fresh_shopify_checkout, make_store, shopify_headers


async def due_checkouts(store, count: int, email: bool = True) -> list[int]:
    past = datetime.now(UTC) - timedelta(hours=1)
    ids = []
    for index in range(count):
        checkout = await Checkout.create(
            store=store,
            platform="custom",
            token=f"t{index}",
            email=f"s{index}@example.com" if email else None,
            last_activity_at=past,
            abandon_due_at=past + timedelta(minutes=15),
        )
        ids.append(checkout.id)
    return ids


async def test_many_racers_make_each_transition_exactly_once(settings):
    issued = await make_store("custom")
    ids = await due_checkouts(issued.store, 20)
    # Ten concurrent claimants per checkout, each on its own pooled PostgreSQL connection.
    results = await asyncio.gather(*(mark_abandoned(cid) for cid in ids for _ in range(10)))
    winners = [r for r in results if r is not None]
    assert len(winners) == 20 and {w.checkout_id for w in winners} == set(ids)
    assert await OutboxEvent.filter(name=events.CHECKOUT_ABANDONED).count() == 20
    assert await Checkout.filter(status=CheckoutStatus.ABANDONED).count() == 20


async def test_two_workers_and_the_sweep_never_double_transition(settings, queue, run_jobs):
    issued = await make_store("custom")
    ids = await due_checkouts(issued.store, 30)
    for cid in ids:  # the same job id twice must collapse, and two workers compete for the rest
        await queue.enqueue_job("check_abandoned", cid, _job_id=f"abandon:{cid}:a")
        await queue.enqueue_job("check_abandoned", cid, _job_id=f"abandon:{cid}:b")
    await asyncio.gather(run_jobs(), run_jobs(), sweep({"redis": queue}))
    assert await OutboxEvent.filter(name=events.CHECKOUT_ABANDONED).count() == 30
    assert await Checkout.filter(status=CheckoutStatus.ABANDONED).count() == 30


async def test_unreachable_checkout_is_kept_but_never_abandoned(settings):
    issued = await make_store("custom")
    [cid] = await due_checkouts(issued.store, 1, email=False)
    assert await mark_abandoned(cid) is None
    assert (await Checkout.get(id=cid)).status == CheckoutStatus.OPEN


async def test_flushed_redis_loses_nothing(client, queue, redis, run_jobs):
    await make_store("shopify")
    body = fresh_shopify_checkout()
    await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/create")
    )
    await redis.flushdb()  # the job is gone; only the database remembers
    await RawEvent.all().update(received_at=datetime.now(UTC) - timedelta(minutes=5))
    counts = await sweep({"redis": queue})
    assert counts["raw"] == 1
    await run_jobs()
    assert (await RawEvent.get()).status == RawStatus.PROCESSED
    checkout = await Checkout.get()
    await Checkout.filter(id=checkout.id).update(
        abandon_due_at=datetime.now(UTC) - timedelta(seconds=1)
    )
    await redis.flushdb()
    counts = await sweep({"redis": queue})
    assert counts["abandoned"] == 1
    await redis.flushdb()
    await OutboxEvent.all().update(created_at=datetime.now(UTC) - timedelta(minutes=5))
    assert (await sweep({"redis": queue}))["events"] == 1
    await run_jobs()
    # Every event is dispatched, none left behind: the abandonment, and the consent the checkout
    # granted (email and SMS, each a contact.opted_in since the follow-up engine listens to it).
    found = await OutboxEvent.all().order_by("id").values_list("name", "dispatched_at")
    assert all(at is not None for _, at in found), found
    assert sorted(name for name, _ in found) == [
        events.CHECKOUT_ABANDONED,
        events.CONTACT_OPTED_IN,
        events.CONTACT_OPTED_IN,
    ]


async def test_abandon_job_fires_when_due_through_the_queue(client, run_jobs):
    issued = await make_store("shopify")
    issued.store.abandon_after_seconds = 60
    await issued.store.save()
    just_now = (datetime.now(UTC) - timedelta(seconds=58)).isoformat()
    body = fresh_shopify_checkout(updated_at=just_now)
    await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/create")
    )
    await run_jobs()
    checkout = await Checkout.get()
    assert checkout.status == CheckoutStatus.OPEN  # due in about two seconds: the job is deferred
    await asyncio.sleep(2.2)
    await run_jobs()
    assert (await Checkout.get()).status == CheckoutStatus.ABANDONED
    event = await OutboxEvent.get(name=events.CHECKOUT_ABANDONED)
    assert event.dispatched_at is not None and event.subject_id == checkout.id

"""Rollup-backed stats equal the raw computation: random stores, zones, late orders, races."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from decimal import Decimal

import msgspec
import pytest
from tortoise.functions import Count

from app.analytics import changes, figures, inputs, jobs, period, rollups
from app.analytics.models import (
    OrderClaim,
    OrderCredit,
    RollupClaim,
    RollupDay,
    RollupHoldout,
    RollupSend,
)
from app.checkouts.models import Checkout, Contact, Order
from app.checkouts.schemas import ContactInput, OrderInput
from app.checkouts.services import record_order
from app.core import events
from app.core.timeutil import utcnow
from app.recovery.models import Enrollment, Flow
from app.stores.models import Store
from tests.analytics.randomized import random_store
from tests.analytics.seed import seed_store

pytestmark = pytest.mark.postgres_only(
    "the rollups are built on PostgreSQL only; on SQLite the stats always read the raw tables "
    "(tests/analytics/test_stats_api.py, test_local_days.py)"
)
ZONES = ["America/New_York", "Asia/Kolkata", "Pacific/Auckland"]


async def both(store: Store, start: str | None, end: str | None, channel: str | None) -> tuple:
    now = utcnow()
    rng = period.parse_range(store, now, start, end, channel)
    rolled = await figures.compute(store, rng, now)
    raw = await figures.compute(store, rng, now, use_rollups=False)
    return msgspec.to_builtins(rolled), msgspec.to_builtins(raw)


async def built(store: Store) -> int:
    await jobs.cover(store)
    return await jobs.build(store, limit=1000)


def _days(n: int) -> str:
    return str((utcnow() - timedelta(days=n)).date())


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_rolled_up_stats_equal_raw_for_random_stores(settings, seed):
    store = await random_store(seed, ZONES[seed % len(ZONES)], checkouts=70)
    assert await built(store) > 300
    ranges = [(None, None), (_days(20), _days(0)), (_days(9), _days(3)), (_days(1), _days(1))]
    for start, end in ranges:
        for channel in (None, "sms", "email"):
            rolled, raw = await both(store, start, end, channel)
            assert rolled == raw, (start, end, channel)
    rng = period.parse_range(store, utcnow(), None, None, None)
    assert len((await inputs.plan(store, rng)).rolled) == 30  # the rollups were really read
    assert (await both(store, None, None, None))[0]["attribution"]["total"]["orders"] > 0


@pytest.mark.parametrize("seed", [31, 32])
async def test_dirty_days_within_a_rolled_up_range_equal_raw(settings, seed):
    """The normal state while messages go out: the latest days dirty, read raw (their sends and
    A/B groups in one pass, as their rollup is built) beside the rolled-up rest."""
    zone = ZONES[seed % len(ZONES)]
    store = await random_store(seed, zone, checkouts=70)
    await built(store)
    today = period.local_day(utcnow(), zone)
    moments = [period.day_bounds(today - timedelta(days=n), zone)[0] for n in (0, 1, 2, 7)]
    assert await changes.mark(store.id, moments) == 4
    rng = period.parse_range(store, utcnow(), None, None, None)
    plan = await inputs.plan(store, rng)
    assert len(plan.rolled) == 26 and len(plan.raw) == 2
    for start, end in [(None, None), (_days(3), _days(0)), (_days(7), _days(7))]:
        for channel in (None, "sms", "email"):
            rolled, raw = await both(store, start, end, channel)
            assert rolled == raw, (start, end, channel)
    assert (await both(store, None, None, None))[0]["variants"]


async def test_reachable_with_and_without_required_email_consent_equals_raw(settings):
    """The rollup stores both reachable counts from one funnel pass; each policy reads its own."""
    store = await random_store(4, "America/New_York", checkouts=40)
    await built(store)
    reachable = {}
    for required in (False, True):
        store.settings = {"recovery": {"email_requires_consent": required}}
        await store.save(update_fields=["settings"])
        rolled, raw = await both(store, None, None, None)
        assert rolled == raw, required
        reachable[required] = rolled["funnel"]["reachable"]
    assert 0 < reachable[True] < reachable[False]


async def test_hand_built_store_and_a_zone_change(settings):
    seeded = await seed_store()
    await built(seeded.store)
    rolled, raw = await both(seeded.store, None, None, None)
    assert rolled == raw and rolled["attribution"]["recovered"]["orders"] == 2
    await Store.filter(id=seeded.store.id).update(timezone="Asia/Tokyo")
    store = await Store.get(id=seeded.store.id)
    rng = period.parse_range(store, utcnow(), None, None, None)
    assert (await inputs.plan(store, rng)).rolled == []  # built for another zone: read raw
    assert (await both(store, None, None, None))[0] == (await both(store, None, None, None))[1]
    await built(store)
    assert len((await inputs.plan(store, rng)).rolled) == 30
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw


async def test_a_late_order_dirties_its_day_until_rebuilt(settings):
    store = await random_store(7, "America/Los_Angeles", checkouts=20)
    await built(store)
    placed = utcnow() - timedelta(days=4)
    before = (await both(store, None, None, None))[0]["attribution"]["total"]["orders"]
    recorded = await record_order(
        store,
        OrderInput(
            external_id="late-1",
            contact=ContactInput(email="c3@example.com"),
            currency="USD",
            total=Decimal("42.00"),
            placed_at=placed,
        ),
    )
    for (
        event_id
    ) in recorded.event_ids:  # the stats react to the order's events, as the worker would
        assert await events.dispatch(event_id)
    dirty = await RollupDay.filter(store_id=store.id, dirty_at__not_isnull=True).count()
    assert dirty >= 1  # the order's day (and, if it settled a checkout, that checkout's days)
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["attribution"]["total"]["orders"] == before + 1
    assert await jobs.build(store) == dirty
    assert await RollupDay.filter(store_id=store.id, dirty_at__not_isnull=True).count() == 0
    assert await OrderClaim.filter(store_id=store.id, order_id__gt=0).count() > 0
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["attribution"]["total"]["orders"] == before + 1


async def test_the_holdout_is_rolled_up_and_follows_a_refund_days_later(settings):
    """A held-out cart's order, paid two days after it was abandoned and refunded today: the
    refund's event dirties the cart's own day (its entry no longer won) although the order's day
    is a different one, and the rebuilt day agrees with the raw tables."""
    store = await random_store(12, "America/New_York", checkouts=10)
    flow = await Flow.get(store=store, name="Default")
    at = utcnow() - timedelta(days=5)
    contact = await Contact.create(store=store, email="held@example.com")
    checkout = await Checkout.create(
        store=store,
        contact=contact,
        platform="custom",
        token="held-cart",
        email=contact.email,
        status="abandoned",
        last_activity_at=at,
        abandoned_at=at,
        currency="USD",
    )
    await Enrollment.create(
        store=store,
        checkout=checkout,
        contact=contact,
        flow=flow,
        status="holdout",
        abandoned_at=at,
    )
    order = OrderInput(
        external_id="held-1",
        contact=ContactInput(email="held@example.com"),
        currency="USD",
        total=Decimal("80.00"),
        placed_at=at + timedelta(days=2),
        checkout_token="held-cart",
        financial_status="paid",
    )
    for event_id in (await record_order(store, order)).event_ids:
        await events.dispatch(event_id)
    await built(store)
    assert await RollupHoldout.filter(store_id=store.id, held=True).exists()
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw
    wins = rolled["holdout"]["holdout_conversions"]
    assert wins >= 1

    order.financial_status = "refunded"
    for event_id in (await record_order(store, order)).event_ids:
        await events.dispatch(event_id)
    day = period.local_day(at, store.timezone)
    assert await RollupDay.filter(store_id=store.id, day=day, dirty_at__not_isnull=True).exists()
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["holdout"]["holdout_conversions"] == wins - 1
    await jobs.build(store)
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["holdout"]["holdout_conversions"] == wins - 1


async def _one_currency_store(seed: int, zone: str) -> Store:
    """A random store whose orders are all in its own currency and none placed after now, so
    every rolled-up day is read from its claim groups alone."""
    store = await random_store(seed, zone, checkouts=60)
    late = utcnow() - timedelta(minutes=5)
    await Order.filter(store_id=store.id).update(
        currency="USD", presentment_currency=None, presentment_total=None
    )
    await Order.filter(store_id=store.id, placed_at__gt=late).update(placed_at=late)
    return store


async def _order_ids(store: Store) -> list[int]:
    return list(await Order.filter(store_id=store.id).values_list("id", flat=True))


@pytest.mark.parametrize("seed", [21, 22])
async def test_the_claim_groups_alone_give_the_raw_figures(settings, seed):
    """A clean day's attribution is summed from a few group rows per day and channel filter:
    with the per-order claims gone, every figure still equals the raw computation."""
    store = await _one_currency_store(seed, ZONES[seed % len(ZONES)])
    await built(store)
    claims = await OrderClaim.filter(store_id=store.id).count()
    assert 0 < await RollupClaim.filter(store_id=store.id, under="all").count() < claims
    await OrderCredit.filter(store_id=store.id).delete()
    await OrderClaim.filter(store_id=store.id).delete()
    for start, end in [(None, None), (_days(9), _days(3))]:
        for channel in (None, "sms", "email"):
            rolled, raw = await both(store, start, end, channel)
            assert rolled == raw, (start, end, channel)
    rolled = (await both(store, None, None, None))[0]
    assert rolled["attribution"]["recovered"]["orders"] > 0
    assert rolled["time_to_recovery"]["count"] > 0
    assert any(flow["attribution"]["message"]["orders"] for flow in rolled["flows"])
    assert any(step["conversions"] for step in rolled["steps"])


async def test_orders_in_another_currency_or_after_now_read_their_day_order_by_order(settings):
    """A day with an order the groups cannot sum exactly (another currency, converted with
    today's rates; or placed after the reading's `now`) is read from its per-order claims."""
    store = await _one_currency_store(23, "America/New_York")
    ids = await _order_ids(store)
    await Order.filter(id=ids[0]).update(currency="EUR")  # converted with the platform's rate
    await Order.filter(id=ids[1]).update(currency="GBP")  # no rate: counted apart
    await Order.filter(id=ids[2]).update(
        currency="USD", presentment_currency="EUR", presentment_total=Decimal("9.5")
    )
    await Order.filter(id=ids[3]).update(placed_at=utcnow() + timedelta(minutes=30))
    await built(store)
    for channel in (None, "sms", "email"):
        rolled, raw = await both(store, None, None, channel)
        assert rolled == raw, channel
    rolled = (await both(store, None, None, None))[0]
    assert rolled["attribution"]["unconverted_orders"] >= 1
    store.currency = "EUR"  # the store's own currency changed: other groups need a rate now
    await store.save(update_fields=["currency"])
    for channel in (None, "sms", "email"):
        rolled, raw = await both(store, None, None, channel)
        assert rolled == raw, channel


async def test_a_refund_on_an_old_day_dirties_that_day_and_its_claim_groups_follow(settings):
    store = await _one_currency_store(24, "Asia/Kolkata")
    await built(store)
    old = await (
        Order.filter(store_id=store.id, placed_at__lt=utcnow() - timedelta(days=5))
        .filter(financial_status="paid")
        .order_by("placed_at")
        .first()
    )
    assert old is not None
    before = (await both(store, None, None, None))[0]["attribution"]["total"]
    refund = OrderInput(
        external_id=old.external_id,
        contact=ContactInput(email="refund@example.com"),
        currency="USD",
        total=old.total,
        placed_at=old.placed_at,
        financial_status="refunded",
    )
    for event_id in (await record_order(store, refund)).event_ids:
        assert await events.dispatch(event_id)
    day = period.local_day(old.placed_at, store.timezone)
    assert await RollupDay.filter(store_id=store.id, day=day, dirty_at__not_isnull=True).exists()
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["attribution"]["total"]["orders"] == before["orders"] - 1
    await jobs.build(store)
    assert not await RollupDay.filter(store_id=store.id, dirty_at__not_isnull=True).exists()
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["attribution"]["total"]["orders"] == before["orders"] - 1


async def test_an_order_moved_to_another_day_dirties_the_day_it_was_claimed_under(settings):
    """The platform corrects an order's time by days: the day its claims were rolled up under is
    dirtied with the new day, so the order is counted once, before and after the rebuild."""
    store = await _one_currency_store(25, "Europe/Paris")
    await built(store)
    old = await (
        Order.filter(store_id=store.id, placed_at__lt=utcnow() - timedelta(days=6))
        .order_by("placed_at")
        .first()
    )
    assert old is not None
    before = (await both(store, None, None, None))[0]["attribution"]["total"]["orders"]
    moved_to = utcnow() - timedelta(days=2)
    corrected = OrderInput(
        external_id=old.external_id,
        contact=ContactInput(email="moved@example.com"),
        currency="USD",
        total=old.total,
        placed_at=moved_to,
        financial_status=old.financial_status,
    )
    for event_id in (await record_order(store, corrected)).event_ids:
        assert await events.dispatch(event_id)
    for moment in (old.placed_at, moved_to):
        day = period.local_day(moment, store.timezone)
        assert await RollupDay.filter(
            store_id=store.id, day=day, dirty_at__not_isnull=True
        ).exists()
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["attribution"]["total"]["orders"] == before
    await jobs.build(store)
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["attribution"]["total"]["orders"] == before


async def test_a_rebuild_that_takes_an_order_from_another_day_dirties_that_day(settings):
    """Without the order's event (lost: the sweep repairs it), a rebuild of the order's new day
    takes its claims from the old day and dirties it, so its groups do not count it twice."""
    store = await _one_currency_store(26, "UTC")
    await built(store)
    old = await (
        Order.filter(store_id=store.id, placed_at__lt=utcnow() - timedelta(days=6))
        .order_by("placed_at")
        .first()
    )
    assert old is not None
    before = (await both(store, None, None, None))[0]["attribution"]["total"]["orders"]
    moved_to = utcnow() - timedelta(days=2)
    await Order.filter(id=old.id).update(placed_at=moved_to)
    new_day = period.local_day(moved_to, "UTC")
    assert await rollups.recompute_day(store, new_day)
    old_day = period.local_day(old.placed_at, "UTC")
    assert await RollupDay.filter(
        store_id=store.id, day=old_day, dirty_at__not_isnull=True
    ).exists()
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["attribution"]["total"]["orders"] == before
    await jobs.build(store)
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw and rolled["attribution"]["total"]["orders"] == before


async def test_concurrent_rebuilds_of_one_day_leave_one_copy(settings):
    store = await random_store(11, "Europe/Paris", checkouts=30)
    await built(store)
    day = (await RollupSend.filter(store_id=store.id).order_by("-n").first()).day
    sends = await RollupSend.filter(store_id=store.id, day=day).count()
    claims = await OrderClaim.filter(store_id=store.id, day=day).count()
    groups = await RollupClaim.filter(store_id=store.id, day=day).count()
    await changes.mark(store.id, [period.day_bounds(day, "Europe/Paris")[0]])
    await asyncio.gather(*(rollups.recompute_day(store, day) for _ in range(4)))
    assert await RollupSend.filter(store_id=store.id, day=day).count() == sends
    assert await OrderClaim.filter(store_id=store.id, day=day).count() == claims
    assert await RollupClaim.filter(store_id=store.id, day=day).count() == groups
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw


async def test_a_mark_during_a_rebuild_keeps_the_day_dirty(settings):
    store = await random_store(5, "UTC", checkouts=5)
    await built(store)
    day = utcnow().date()
    from tortoise.transactions import in_transaction

    async with in_transaction() as conn:
        began = (await conn.execute_query_dict("SELECT clock_timestamp() AS t"))[0]["t"]
        await changes.mark(store.id, [utcnow()])  # lands after we began reading
        counters = dict.fromkeys(changes.COUNTERS.split(", "), 0)
        await rollups._save_day(conn, store, day, counters, began)
    assert (await RollupDay.get(store_id=store.id, day=day)).dirty_at is not None


async def test_a_dirty_day_is_written_again_only_after_a_rebuild_began(settings):
    """A send storm writes a dirty day once per rebuild, not once per send; a change after a
    rebuild began reading still writes, so that rebuild leaves the day dirty."""
    store = await random_store(6, "UTC", checkouts=3)
    await built(store)
    day = utcnow().date()
    assert await changes.mark(store.id, [utcnow()]) == 1
    first = (await RollupDay.get(store_id=store.id, day=day)).dirty_at
    assert await changes.mark(store.id, [utcnow()]) == 0  # the coming rebuild will read it
    assert (await RollupDay.get(store_id=store.id, day=day)).dirty_at == first
    from tortoise.transactions import in_transaction

    began = await rollups.begin_build(store.id, day)
    async with in_transaction() as conn:
        assert await changes.mark(store.id, [utcnow()]) == 1  # this rebuild may miss it
        counters = dict.fromkeys(changes.COUNTERS.split(", "), 0)
        await rollups._save_day(conn, store, day, counters, began)
    assert (await RollupDay.get(store_id=store.id, day=day)).dirty_at > began
    assert await rollups.recompute_day(store, day)
    assert (await RollupDay.get(store_id=store.id, day=day)).dirty_at is None


async def test_one_mark_covers_a_checkout_with_many_sends_on_one_day(settings):
    """Several moments on one day are one row (the upsert may not touch a row twice)."""
    from app.messaging.models import Message

    store = await random_store(7, "America/New_York", checkouts=20)
    busiest = (
        await Message.filter(store_id=store.id, checkout_id__not_isnull=True)
        .group_by("checkout_id")
        .annotate(n=Count("id"))
        .order_by("-n")
        .first()
        .values("checkout_id", "n")
    )
    assert busiest["n"] >= 2
    await built(store)
    marked = await changes.mark(store.id, [utcnow(), utcnow()], busiest["checkout_id"])
    dirty = await RollupDay.filter(store_id=store.id, dirty_at__not_isnull=True).count()
    assert marked == dirty >= 1


async def test_the_worker_rebuilds_what_changes_marked(settings, run_jobs):
    store = await random_store(9, "Asia/Kolkata", checkouts=10)
    assert (await jobs.analytics_sweep({}))["new_days"] > 300
    await asyncio.sleep(changes.DEBOUNCE.total_seconds())
    await run_jobs()
    assert await RollupDay.filter(store_id=store.id, computed_at=None).count() == 0
    rolled, raw = await both(store, None, None, None)
    assert rolled == raw


async def test_recent_days_are_reconciled_hourly_even_without_a_hook(settings):
    from datetime import timedelta

    store = await random_store(11, "UTC", checkouts=5)
    await built(store)
    assert await RollupDay.filter(store_id=store.id, dirty_at__isnull=False).count() == 0
    assert await jobs.reconcile(store) == 0  # everything was just computed
    stale = utcnow() - timedelta(hours=2)
    await RollupDay.filter(store_id=store.id).update(computed_at=stale)
    marked = await jobs.reconcile(store)
    assert marked == jobs.RECONCILE_DAYS + 1  # the last week and today, nothing older
    assert await RollupDay.filter(store_id=store.id, dirty_at__isnull=False).count() == marked


async def test_marks_made_in_a_batch_are_written_together_when_it_ends(settings):
    """A batch of sends marks once per store when all have answered: the same days as a mark per
    send, none before the batch ends."""
    from app.messaging.models import Message

    store = await random_store(7, "America/New_York", checkouts=20)
    sent = await Message.filter(store_id=store.id, checkout_id__not_isnull=True).values_list(
        "checkout_id", flat=True
    )
    first, second = sorted(set(sent))[:2]
    now = utcnow()

    async def dirty() -> set:
        found = RollupDay.filter(store_id=store.id, dirty_at__not_isnull=True)
        return set(await found.values_list("day", flat=True))

    await built(store)
    await changes.mark(store.id, [now], first)
    await changes.mark(store.id, [now - timedelta(days=3)], second)
    separately = await dirty()
    await built(store)
    assert await dirty() == set()
    async with events.batched():
        marked = await asyncio.gather(
            changes.mark(store.id, [now], first),
            changes.mark(store.id, [now - timedelta(days=3)], second),
        )
        assert marked == [0, 0] and await dirty() == set()  # nothing written yet
    assert await dirty() == separately and len(separately) >= 2

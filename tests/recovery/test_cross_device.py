"""One abandonment per shopper across devices: a newer cart takes the sequence over at its step,
the earlier stops "replaced by a newer cart", two devices at once get one sequence, and an order
for either cart recovers the group once."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from app.checkouts.models import Checkout, CheckoutStatus
from app.core.timeutil import utcnow
from app.recovery import devices, services
from app.recovery.controls import reason_words
from app.recovery.models import Enrollment, EnrollmentStatus
from app.stores.models import Store
from tests.recovery.conftest import abandoned

LIVE = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED)


async def test_a_newer_cart_takes_the_sequence_over_at_its_step(store):
    now = utcnow()
    phone_cart, first = await abandoned(store, now - timedelta(hours=3), device="mobile")
    assert first is not None and first.status == EnrollmentStatus.ACTIVE
    await Enrollment.filter(id=first.id).update(next_step=1)  # step 1 already went out
    laptop_cart, second = await abandoned(store, now - timedelta(minutes=5), device="desktop")
    assert second is not None
    old = await Enrollment.get(id=first.id)
    assert old.status == EnrollmentStatus.STOPPED and old.stop_reason == devices.REPLACED
    assert reason_words(old.stop_reason) == "replaced by a newer cart"
    assert (second.status, second.next_step, second.flow_id) == ("active", 1, first.flow_id)
    assert second.abandoned_at == first.abandoned_at  # timed from the first abandonment
    assert (await Checkout.get(id=phone_cart.id)).superseded_by_id == laptop_cart.id
    assert await Enrollment.filter(contact_id=laptop_cart.contact_id, status__in=LIVE).count() == 1


async def test_an_earlier_cart_arriving_late_never_starts_a_second_sequence(store):
    now = utcnow()
    newer, running = await abandoned(store, now - timedelta(minutes=5), device="desktop")
    older, late = await abandoned(store, now - timedelta(minutes=1), device="mobile", enroll=False)
    # the phone cart was last touched before the laptop one, though abandoned after it
    await Checkout.filter(id=older.id).update(
        last_activity_at=newer.last_activity_at - timedelta(hours=1)
    )
    late = await services.enroll(older.id)
    assert late is not None and late.status == EnrollmentStatus.STOPPED
    assert late.stop_reason == devices.REPLACED
    assert (await Enrollment.get(id=running.id)).status == EnrollmentStatus.ACTIVE
    assert (await Checkout.get(id=older.id)).superseded_by_id == newer.id


async def test_two_devices_at_once_get_one_sequence(store):
    now = utcnow()
    a, _ = await abandoned(store, now - timedelta(minutes=4), device="mobile", enroll=False)
    b, _ = await abandoned(store, now - timedelta(minutes=3), device="desktop", enroll=False)
    assert a.contact_id == b.contact_id
    await asyncio.gather(services.enroll(a.id), services.enroll(b.id))
    rows = await Enrollment.filter(contact_id=a.contact_id).order_by("id")
    assert len(rows) == 2
    assert [r.status for r in rows].count(EnrollmentStatus.ACTIVE) == 1
    live = next(r for r in rows if r.status == EnrollmentStatus.ACTIVE)
    assert live.checkout_id == b.id  # the newer cart is followed up, whichever enrolled first
    stopped = next(r for r in rows if r.status != EnrollmentStatus.ACTIVE)
    assert stopped.stop_reason == devices.REPLACED


async def test_carts_further_apart_than_the_window_are_two_abandonments(store):
    await Store.filter(id=store.id).update(settings={"cross_device_window_hours": 2})
    store = await Store.get(id=store.id)
    now = utcnow()
    _, first = await abandoned(store, now - timedelta(hours=5))
    _, second = await abandoned(store, now - timedelta(minutes=5))
    assert first is not None and second is not None
    assert (await Enrollment.get(id=first.id)).status == EnrollmentStatus.ACTIVE
    assert second.status == EnrollmentStatus.ACTIVE and second.next_step == 0


async def test_an_order_for_the_earlier_cart_recovers_the_group_once(store, client, run_jobs):
    now = utcnow()
    phone_cart, _ = await abandoned(store, now - timedelta(hours=2), device="mobile")
    laptop_cart, followed = await abandoned(store, now - timedelta(minutes=5), device="desktop")
    await Checkout.filter(id=laptop_cart.id).update(recovery_contacted_at=now)  # a step went out
    order = {
        "type": "track",
        "event": "Order Completed",
        "messageId": uuid.uuid4().hex,
        "context": {"traits": {"email": phone_cart.email}},
        "properties": {"checkout_id": phone_cart.token, "order_id": "A-1001", "total": 64},
    }
    response = await client.post(f"/collect/v1/events?key={store.publishable_key}", json=order)
    assert response.status_code == 202, response.text
    await run_jobs()
    settled = await Checkout.get(id=laptop_cart.id)
    assert settled.status == CheckoutStatus.RECOVERED and settled.order_external_id == "A-1001"
    assert (await Checkout.get(id=phone_cart.id)).status == CheckoutStatus.ABANDONED
    assert await Checkout.filter(store_id=store.id, status=CheckoutStatus.RECOVERED).count() == 1
    assert followed is not None
    assert (await Enrollment.get(id=followed.id)).stop_reason == "order_placed"
    assert not await Enrollment.filter(contact_id=laptop_cart.contact_id, status__in=LIVE).exists()


async def test_a_step_in_flight_for_the_earlier_cart_is_not_sent_again_for_the_newer(store):
    from app.messaging.models import Author, Channel, Direction, Message

    now = utcnow()
    phone_cart, first = await abandoned(store, now - timedelta(hours=3), device="mobile")
    assert first is not None and first.next_step == 0
    # A worker claimed step 1 for the phone cart and is talking to the provider right now.
    await Message.create(
        store_id=store.id,
        contact_id=phone_cart.contact_id,
        checkout_id=phone_cart.id,
        enrollment_id=first.id,
        step_index=0,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        author=Author.AUTOMATION,
        to_address=phone_cart.phone or "",
        body="Your cart is saved",
        status="sending",
        idempotency_key=f"test-inflight-{first.id}",
    )
    _, second = await abandoned(store, now - timedelta(minutes=5), device="desktop")
    assert second is not None and second.status == EnrollmentStatus.ACTIVE
    assert second.next_step == 1  # step 1 is on its way: the newer cart continues with step 2


def test_takeover_past_the_last_step_finishes_the_sequence():
    from types import SimpleNamespace

    old = SimpleNamespace(
        flow_id=1,
        status=EnrollmentStatus.ACTIVE,
        abandoned_at=utcnow() - timedelta(days=3),
        next_step=1,
        paused_at=None,
        pause_reason=None,
    )
    steps = [SimpleNamespace(delay_seconds=0), SimpleNamespace(delay_seconds=3600)]
    now = utcnow()
    assert devices.takeover(old, steps, now)["next_due_at"] == now  # overdue: goes out now
    done = devices.takeover(old, steps, now, next_step=2)
    assert (done["status"], done["completed_at"], done["next_due_at"]) == ("completed", now, None)
    paused = devices.takeover(SimpleNamespace(**{**vars(old), "status": "paused"}), steps, now)
    assert (paused["status"], paused["next_due_at"]) == ("paused", None)

"""Enrollment lifecycle: holdout, frequency budget, replies pause, agents resume, uninstall stops."""

from __future__ import annotations

import contextlib
from datetime import timedelta
from decimal import Decimal

from tortoise.transactions import in_transaction

from app.core import events
from app.messaging.models import Message
from app.recovery import services
from app.recovery.discounts import Incentive, ensure_discount
from app.recovery.models import DiscountCode, DiscountKind, Enrollment, EnrollmentStatus, Flow
from app.recovery.sending import Later, run_step
from app.stores.models import Platform, Store
from tests.factories import make_store
from tests.recovery.conftest import abandoned


async def _event(name: str, store_id: int, subject: int, payload: dict) -> None:
    async with in_transaction() as conn:
        event_id = await events.record(name, store_id, subject, payload, conn)
    assert await events.dispatch(event_id)


async def test_holdout_share_is_enrolled_but_never_messaged(deps, store, clock, fake_twilio):
    await Flow.filter(store=store).update(holdout_percent=Decimal("50"))
    enrolled = [
        await abandoned(
            store, clock.now - timedelta(minutes=16), email=f"s{i}@example.com", phone=None
        )
        for i in range(40)
    ]
    held = [e for _, e in enrolled if e.status == EnrollmentStatus.HOLDOUT]
    assert 8 < len(held) < 32 and all(e.next_due_at is None for e in held)
    for enrollment in held:
        assert await run_step(deps, enrollment.id, 0) == "stale"
    assert not await Message.filter(enrollment_id__in=[e.id for e in held]).exists()


async def test_one_sequence_per_contact_per_week(deps, store, clock, smtp):
    # Cross-device grouping off: two carts within its window would be one abandonment
    # (tests/recovery/test_cross_device.py); the frequency cap is what is tested here.
    await Store.filter(id=store.id).update(settings={"cross_device_window_hours": 0})
    store = await Store.get(id=store.id)
    _, first = await abandoned(store, clock.now - timedelta(hours=2), phone=None)
    assert await run_step(deps, first.id, 0) == "skipped"
    assert await run_step(deps, first.id, 1) == "sent"
    _, second = await abandoned(store, clock.now - timedelta(hours=2), phone=None)
    assert await run_step(deps, second.id, 0) == "skipped"
    assert await run_step(deps, second.id, 1) == "stopped"
    await second.refresh_from_db()
    assert second.stop_reason == "frequency_cap" and len(smtp.messages) == 1
    clock.advance(hours=23)
    assert await run_step(deps, first.id, 2) == "sent"  # the running sequence keeps its budget


async def test_reply_pauses_agent_resumes_and_progress_shows_it(
    deps, store, clock, fake_twilio, smtp
):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await run_step(deps, enrollment.id, 0) == "sent"
    await _event(
        events.SHOPPER_REPLIED,
        store.id,
        99,
        {"contact_id": checkout.contact_id, "checkout_id": checkout.id},
    )
    await enrollment.refresh_from_db()
    assert (
        enrollment.status == EnrollmentStatus.PAUSED
        and enrollment.pause_reason == "shopper_replied"
    )
    clock.advance(hours=1)
    assert await run_step(deps, enrollment.id, 1) == "stale" and smtp.messages == []

    progress = await services.progress(checkout)
    assert progress["status"] == "paused" and progress["steps_done"] == 1
    assert (
        progress["steps"][0]["status"] == "queued" and progress["next_step"]["channel"] == "email"
    )

    assert await services.resume(enrollment.id, deps.queue)
    await enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.ACTIVE
    clock.now = max(clock.now, enrollment.next_due_at)  # resume schedules on the real clock
    assert await run_step(deps, enrollment.id, 1) == "sent" and len(smtp.messages) == 1
    assert await services.stop(enrollment.id, "agent")
    assert (await services.progress(checkout))["next_step"] is None


async def test_order_and_uninstall_events_stop_sequences(store, clock):
    checkout, enrollment = await abandoned(store, clock.now)
    await _event(events.CHECKOUT_COMPLETED, store.id, checkout.id, {})
    await enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == (EnrollmentStatus.STOPPED, "order_placed")
    _, other = await abandoned(store, clock.now, email="b@example.com", phone=None)
    await _event(events.STORE_UNINSTALLED, store.id, store.id, {})
    await other.refresh_from_db()
    assert other.stop_reason == "store_uninstalled"


async def test_enrolling_twice_is_one_enrollment_and_old_stores_get_a_flow(store, clock):
    checkout, enrollment = await abandoned(store, clock.now)
    assert (await services.enroll(checkout.id)).id == enrollment.id
    assert enrollment.entry_key == f"checkout:{checkout.id}"
    assert enrollment.trigger == "checkout.abandoned" and enrollment.transactional is False
    await Flow.filter(store=store).delete()
    _checkout2, enrollment2 = await abandoned(store, clock.now, email="c@example.com", phone=None)
    assert enrollment2 is not None and await Flow.filter(store=store).count() == 1


async def test_sms_opt_out_cancels_pending_sms_and_skips_the_step(deps, store, clock, fake_twilio):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    fake_twilio.fail_next.append(500)
    with contextlib.suppress(Later):
        await run_step(deps, enrollment.id, 0)
    from app.checkouts.models import Contact

    await Contact.filter(id=checkout.contact_id).update(sms_opted_out_at=clock.now)
    await _event(events.CONTACT_OPTED_OUT, store.id, checkout.contact_id, {"channel": "sms"})
    message = await Message.get(enrollment_id=enrollment.id)
    assert message.status == "cancelled"
    assert await run_step(deps, enrollment.id, 0) == "stale" or fake_twilio.sent == []
    assert fake_twilio.sent == []


class FakeShopifyIssuer:
    """A test double of the DiscountIssuer protocol (the Shopify call is another helper's)."""

    def __init__(self) -> None:
        self.calls = 0

    async def issue(self, store, enrollment, spec, now):
        self.calls += 1
        return await DiscountCode.create(
            store=store,
            code=f"BACK-TEST{self.calls}",
            enrollment=enrollment,
            kind=DiscountKind.PERCENTAGE,
            value=spec.value,
            ends_at=now + timedelta(hours=spec.expires_hours),
            provider_id="gid://shopify/DiscountCodeNode/1",
            assigned_at=now,
        )


async def test_discount_issuer_once_per_enrollment_above_threshold(settings, clock):
    shop = (await make_store("shopify", sms_number="+14155550100")).store
    assert shop.platform == Platform.SHOPIFY
    _, enrollment = await abandoned(shop, clock.now)
    spec = Incentive.parse(
        {"kind": "percentage", "value": "10", "min_total": "50", "expires_hours": 48}
    )
    issuer = FakeShopifyIssuer()
    assert await ensure_discount(shop, enrollment, spec, Decimal("40"), clock.now, issuer) is None
    first = await ensure_discount(shop, enrollment, spec, Decimal("64"), clock.now, issuer)
    again = await ensure_discount(shop, enrollment, spec, Decimal("64"), clock.now, issuer)
    assert first.code == again.code == "BACK-TEST1" and issuer.calls == 1
    static = Incentive.parse({"source": "static", "code": "welcome10", "kind": "percentage"})
    _, other = await abandoned(shop, clock.now, email="d@example.com", phone=None)
    row = await ensure_discount(shop, other, static, Decimal("64"), clock.now)
    assert row.code == "WELCOME10" and row.kind == DiscountKind.STATIC
    assert await Enrollment.filter(store=shop).count() == 2

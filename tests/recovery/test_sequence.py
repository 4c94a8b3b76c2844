"""A whole recovery sequence through the real pipeline, real SMTP and the fake Twilio API."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.checkouts.models import Checkout
from app.messaging.models import Channel, DeliveryStatus, Message
from app.recovery.models import DiscountCode, DiscountKind, EnrollmentStatus
from app.recovery.sending import run_step
from tests.recovery.conftest import abandoned


async def test_sms_then_emails_each_once_in_order(deps, store, clock, fake_twilio, smtp):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert enrollment.status == EnrollmentStatus.ACTIVE and enrollment.next_step == 0

    assert await run_step(deps, enrollment.id, 0) == "sent"
    [sms] = fake_twilio.sent
    assert sms["to"] == "+14155550173" and sms["from"] == "+14155550100"
    assert sms["body"].startswith("Hi Jane, it's Tidewater Teas. Your Coffee mug is saved")
    assert sms["body"].endswith("Reply STOP to opt out.")
    assert "/r/" in sms["body"]
    assert sms["status_callback"].startswith("https://app.example.com/webhooks/twilio/status?m=")
    await checkout.refresh_from_db()
    assert checkout.recovery_contacted_at == clock.now

    # The same step again (a duplicate job) sends nothing.
    assert await run_step(deps, enrollment.id, 0) == "stale"
    clock.advance(hours=1)
    assert await run_step(deps, enrollment.id, 1) == "sent"
    [mail] = smtp.messages
    assert mail["To"] == "jane@example.com"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert mail["List-Unsubscribe"].startswith("<https://app.example.com/u/")
    html = mail.get_payload()[1].get_payload(decode=True).decode()
    assert "Complete your purchase" in html
    assert "$64.00" in html
    assert len(fake_twilio.sent) == 1

    rows = await Message.filter(enrollment_id=enrollment.id).order_by("step_index")
    assert [(m.channel, m.status) for m in rows] == [
        (Channel.SMS, DeliveryStatus.QUEUED),
        (Channel.EMAIL, DeliveryStatus.SENT),
    ]


async def test_order_placed_stops_before_the_next_send(deps, store, clock, smtp):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(hours=2))
    await Checkout.filter(id=checkout.id).update(status="completed")
    assert await run_step(deps, enrollment.id, 0) == "stopped"
    await enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.STOPPED
    assert enrollment.stop_reason == "order_placed"
    assert smtp.messages == [] and not await Message.exists(enrollment_id=enrollment.id)


async def test_no_sms_without_consent_recorded_before_abandonment(deps, store, clock, fake_twilio):
    at = clock.now - timedelta(minutes=16)
    _, enrollment = await abandoned(store, at, consent_at=at + timedelta(minutes=1))
    assert await run_step(deps, enrollment.id, 0) == "skipped"
    assert fake_twilio.sent == []
    await enrollment.refresh_from_db()
    assert enrollment.next_step == 1


async def test_quiet_hours_defer_sms_to_morning(deps, store, clock, fake_twilio):
    clock.now = clock.now.replace(hour=6)  # 22:00 the evening before in Los Angeles
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    try:
        await run_step(deps, enrollment.id, 0)
    except Exception as exc:
        assert type(exc).__name__ == "Later"
    await enrollment.refresh_from_db()
    assert enrollment.next_due_at == clock.now.replace(hour=17)  # 09:00 PST
    assert fake_twilio.sent == []


async def test_discount_from_pool_shown_and_reused(deps, store, clock, smtp):
    from app.recovery.discounts import upload_pool

    assert await upload_pool(store, ["SAVE-AAA", "SAVE-BBB"], None) == 2
    _, enrollment = await abandoned(store, clock.now - timedelta(hours=25), total=Decimal("80"))
    await enrollment.__class__.filter(id=enrollment.id).update(next_step=2)
    assert await run_step(deps, enrollment.id, 2) == "sent"
    code = await DiscountCode.get(enrollment_id=enrollment.id)
    assert code.kind == DiscountKind.POOL and code.code == "SAVE-AAA"
    assert "SAVE-AAA" in smtp.messages[0].get_payload()[0].get_payload(decode=True).decode()

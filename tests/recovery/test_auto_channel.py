"""Auto steps through the real pipeline: a text for a mobile shopper who can be texted now, an
email for everyone else, exactly one message per step, and a retry keeps its recorded channel."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import timedelta

import pytest
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout, Contact
from app.core import events
from app.core.db import is_postgres
from app.messaging.models import Channel, DeliveryStatus, Message
from app.recovery import flows, services
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep
from app.recovery.playbook import ensure_default_flow
from app.recovery.sending import Deps, Later, run_step, send_due
from app.stores.services import forget_cached_stores
from tests.recovery.conftest import abandoned

AUTO_VARIANT = {
    "key": "a",
    "weight": "1",
    "subject": "{{ first_name }}, your cart at {{ store_name }}",
    "body": "Hi {{ first_name }}, your {{ first_item }} is still in your cart.",
    "sms_body": "Hi {{ first_name }}, your {{ first_item }} is waiting: {{ magic_link }}",
}


BATCHES = pytest.mark.postgres_only(
    "batch claims take rows with FOR UPDATE SKIP LOCKED; on SQLite each step's job sends "
    "(test_single_step_jobs_text_the_mobile_shopper_and_email_the_desktop_one)"
)


async def send_what_is_due(deps: Deps, *enrollments: Enrollment) -> dict[str, int]:
    """The batch drainers on PostgreSQL; on SQLite, which has none (no SKIP LOCKED), each step's job."""
    if is_postgres():
        return dict((await send_due(deps, 50)).outcomes)
    outcomes: Counter[str] = Counter()
    for enrollment in enrollments:
        await enrollment.refresh_from_db()
        outcomes[await attempt(deps, enrollment.id, enrollment.next_step)] += 1
    return dict(outcomes)


@pytest.fixture(autouse=True)
def fresh_flows() -> Iterator[None]:
    """Flow ids restart with every test's truncation: never reuse another test's cached steps."""
    yield
    flows.forget_steps()
    forget_cached_stores()


@pytest.fixture
async def auto_first(store):
    """The playbook with its first step (15 minutes) made an auto step."""
    flow = await ensure_default_flow(store)
    await FlowStep.filter(flow_id=flow.id, position=0).update(
        channel="auto", variants=[AUTO_VARIANT]
    )
    flows.forget_steps(flow.id)
    return flow


async def mobile_and_desktop(store, at):
    _, mobile = await abandoned(store, at, device="mobile")
    _, desktop = await abandoned(
        store, at, device="desktop", phone="+14155550144", email="dana@example.com"
    )
    return mobile, desktop


async def attempt(deps: Deps, enrollment_id: int, step: int) -> str:
    try:
        return await run_step(deps, enrollment_id, step)
    except Later as later:
        return f"later:{later.reason}"


async def step_messages(enrollment_id: int) -> list[tuple[str, str]]:
    rows = await Message.filter(enrollment_id=enrollment_id, step_index=0)
    return [(str(m.channel), m.to_address) for m in rows]


async def test_single_step_jobs_text_the_mobile_shopper_and_email_the_desktop_one(
    deps, store, auto_first, clock, fake_twilio, smtp, redis
):
    mobile, desktop = await mobile_and_desktop(store, clock.now - timedelta(minutes=16))
    assert await run_step(deps, mobile.id, 0) == "sent"
    assert await run_step(deps, desktop.id, 0) == "sent"
    for enrollment in (mobile, desktop):  # a duplicate job sends nothing
        assert await run_step(deps, enrollment.id, 0) == "stale"

    [text] = fake_twilio.sent
    assert text["to"] == "+14155550173"
    # The SMS part, with the brand and opt-out a first automated text needs.
    assert text["body"].startswith("Tidewater Teas: Hi Jane, your Coffee mug is waiting: https://")
    assert text["body"].endswith("Reply STOP to opt out.")
    [mail] = smtp.messages
    assert (
        mail["To"] == "dana@example.com" and mail["Subject"] == "Jane, your cart at Tidewater Teas"
    )
    plain = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "Hi Jane, your Coffee mug is still in your cart." in plain

    assert await step_messages(mobile.id) == [("sms", "+14155550173")]
    assert await step_messages(desktop.id) == [("email", "dana@example.com")]
    sms = await Message.get(enrollment_id=mobile.id)
    assert sms.subject is None and sms.segments >= 1 and sms.from_address == "+14155550100"
    # Each send took a slot of the sender it really used.
    assert await redis.exists("throttle:sms:+14155550100")
    assert await redis.exists(f"throttle:email:{deps.email.name}")


@BATCHES
async def test_a_batch_texts_the_mobile_shopper_and_emails_the_desktop_one(
    deps, store, auto_first, clock, fake_twilio, smtp
):
    mobile, desktop = await mobile_and_desktop(store, clock.now - timedelta(minutes=16))
    batch = await send_due(deps, 50)
    assert batch.outcomes == {"sent": 2}
    assert [m["to"] for m in fake_twilio.sent] == ["+14155550173"]
    assert [m["To"] for m in smtp.messages] == ["dana@example.com"]
    assert await step_messages(mobile.id) == [("sms", "+14155550173")]
    assert await step_messages(desktop.id) == [("email", "dana@example.com")]
    for enrollment in (mobile, desktop):
        assert await attempt(deps, enrollment.id, 0) == "stale"  # its job, if it still runs
    assert (await send_due(deps, 50)).outcomes == {}
    assert len(fake_twilio.sent) == 1 and len(smtp.messages) == 1


async def test_a_mobile_shopper_at_night_gets_the_email_now(
    deps, store, auto_first, clock, fake_twilio, smtp
):
    clock.now = clock.now.replace(hour=6)  # 22:00 the evening before in Los Angeles
    _, mobile = await abandoned(store, clock.now - timedelta(minutes=16), device="mobile")
    _, other = await abandoned(
        store, clock.now - timedelta(minutes=16), phone="+14155550155", email="lee@example.com"
    )
    assert await run_step(deps, mobile.id, 0) == "sent"
    assert await send_what_is_due(deps, other) == {"sent": 1}
    assert fake_twilio.sent == []
    assert sorted(m["To"] for m in smtp.messages) == ["jane@example.com", "lee@example.com"]
    assert await step_messages(other.id) == [("email", "lee@example.com")]


async def test_a_retry_keeps_the_channel_its_attempt_recorded(
    deps, store, auto_first, clock, fake_twilio, smtp
):
    checkout, mobile = await abandoned(store, clock.now - timedelta(minutes=16), device="mobile")
    fake_twilio.fail_next.append(503)
    assert (await attempt(deps, mobile.id, 0)).startswith("later:transient")
    pending = await Message.get(enrollment_id=mobile.id)
    assert pending.status == DeliveryStatus.PENDING and pending.channel == Channel.SMS
    # Resolved afresh this cart would now be emailed; the recorded SMS attempt decides instead.
    await Checkout.filter(id=checkout.id).update(device="desktop")
    if is_postgres():  # batches exist only there
        assert (await send_due(deps, 50)).outcomes == {}  # a step with a row belongs to its job
    assert await attempt(deps, mobile.id, 0) == "sent"
    assert [m["to"] for m in fake_twilio.sent] == ["+14155550173"] and smtp.messages == []
    assert await step_messages(mobile.id) == [("sms", "+14155550173")]
    assert (await Message.get(enrollment_id=mobile.id)).status == DeliveryStatus.QUEUED


async def test_a_retry_past_what_its_channel_allows_is_skipped_not_switched(
    deps, store, auto_first, clock, fake_twilio, smtp
):
    _, mobile = await abandoned(store, clock.now - timedelta(minutes=16), device="mobile")
    fake_twilio.fail_next.append(503)
    assert (await attempt(deps, mobile.id, 0)).startswith("later:transient")
    clock.advance(hours=48)  # the SMS window closed while the attempt waited for its retry
    assert await attempt(deps, mobile.id, 0) == "skipped"
    assert fake_twilio.sent == [] and smtp.messages == []
    [row] = await Message.filter(enrollment_id=mobile.id)
    assert row.channel == Channel.SMS and row.status == DeliveryStatus.CANCELLED


async def test_an_sms_opt_out_stops_only_sequences_whose_auto_step_cannot_email(
    store, auto_first, clock
):
    await FlowStep.filter(flow_id=auto_first.id, position__gt=0).delete()  # the auto step alone
    flows.forget_steps(auto_first.id)
    at = clock.now - timedelta(minutes=5)
    with_email, emailable = await abandoned(store, at)
    phone_only, textable = await abandoned(store, at, email=None, phone="+14155550166")
    for checkout in (with_email, phone_only):
        await Contact.filter(id=checkout.contact_id).update(sms_opted_out_at=clock.now)
        async with in_transaction() as conn:
            event_id = await events.record(
                events.CONTACT_OPTED_OUT, store.id, checkout.contact_id, {"channel": "sms"}, conn
            )
        assert await events.dispatch(event_id)
    await emailable.refresh_from_db()
    await textable.refresh_from_db()
    assert emailable.status == EnrollmentStatus.ACTIVE  # the auto step can still email
    assert (textable.status, textable.stop_reason) == (EnrollmentStatus.STOPPED, "opted_out")


async def test_progress_shows_the_channel_a_step_went_out_on(deps, store, auto_first, clock, smtp):
    checkout, desktop = await abandoned(store, clock.now - timedelta(minutes=16), device="desktop")
    before = await services.progress(checkout)
    assert before["next_step"]["channel"] == "auto" and before["steps"][0]["channel"] == "auto"
    assert await run_step(deps, desktop.id, 0) == "sent"
    after = await services.progress(checkout)
    assert after["steps"][0]["channel"] == "email" and after["steps"][0]["status"] == "sent"


async def test_a_batch_knows_a_checkouts_earlier_text(deps, store, clock, fake_twilio, smtp):
    """The carrier rule's count comes from the batch's one read: the text of step 0 makes the auto
    step 1 of the same checkout an email."""
    flow = await ensure_default_flow(store)
    await FlowStep.filter(flow_id=flow.id, position=1).update(
        channel="auto", variants=[AUTO_VARIANT]
    )
    flows.forget_steps(flow.id)
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await send_what_is_due(deps, enrollment) == {"sent": 1}
    clock.advance(hours=1)
    assert await send_what_is_due(deps, enrollment) == {"sent": 1}
    assert len(fake_twilio.sent) == 1 and len(smtp.messages) == 1
    rows = await Message.filter(enrollment_id=enrollment.id).order_by("step_index")
    assert [m.channel for m in rows] == [Channel.SMS, Channel.EMAIL]


async def test_history_counts_texts_only_for_checkouts_that_may_text(deps, store, clock, smtp):
    from tortoise import connections

    from app.recovery.sending._facts import History

    _, texted = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await run_step(deps, texted.id, 0) == "sent"
    _, other = await abandoned(
        store, clock.now - timedelta(minutes=16), phone="+14155550155", email="o@example.com"
    )
    conn = connections.get("default")
    history = await History.read(
        conn, [texted, other], [store], clock.now, texting=[texted.checkout_id, other.checkout_id]
    )
    assert history.known(texted, store, clock.now).sms_sent == 1
    assert history.known(other, store, clock.now).sms_sent == 0
    history.sent(other, clock.now, Channel.SMS)
    assert history.known(other, store, clock.now).sms_sent == 1
    unread = await History.read(conn, [texted], [store], clock.now)
    assert unread.known(texted, store, clock.now).sms_sent is None  # not read: gather counts


async def test_gather_uses_the_known_text_count(deps, store, clock):
    from tortoise import connections

    from app.recovery.flows import ordered_steps
    from app.recovery.sending import _facts as fact_store

    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    steps = await ordered_steps(enrollment.flow_id)
    contact = await Contact.get(id=checkout.contact_id)
    common = {
        "now": clock.now,
        "store": store,
        "enrollment": enrollment,
        "checkout": checkout,
        "contact": contact,
        "step": steps[0],
    }
    conn = connections.get("default")
    unread = fact_store.Known(ordered=False, others=0)  # not read for this row: gather counts
    assert (await fact_store.gather(conn, known=unread, **common)).automated_sms_sent == 0
    known = fact_store.Known(ordered=False, others=0, sms_sent=1)
    assert (await fact_store.gather(conn, known=known, **common)).automated_sms_sent == 1


async def test_a_store_without_an_sms_number_skips_texts_and_emails_auto_steps(
    deps, clock, fake_twilio, smtp
):
    from app.recovery.sending._claim import claim_step
    from tests.factories import make_store

    store = (await make_store("custom", name="No Phone Co")).store
    assert not store.sms_number
    _, texting = await abandoned(store, clock.now - timedelta(minutes=16))
    steps = await flows.ordered_steps(texting.flow_id)
    claim = await claim_step(deps, texting.id, 0, steps, None)
    assert (claim.outcome, claim.reason) == ("skipped", "store has no SMS number")
    await texting.refresh_from_db()
    assert texting.next_step == 1 and fake_twilio.sent == []

    await FlowStep.filter(flow_id=texting.flow_id, position=0).update(
        channel="auto", variants=[AUTO_VARIANT]
    )
    flows.forget_steps(texting.flow_id)
    _, auto = await abandoned(
        store, clock.now - timedelta(minutes=16), phone="+14155550166", email="a@example.com"
    )
    assert await send_what_is_due(deps, auto) == {"sent": 1}
    assert fake_twilio.sent == [] and len(smtp.messages) == 1
    assert (await Message.get(enrollment_id=auto.id)).channel == Channel.EMAIL

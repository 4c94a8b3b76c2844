"""Segments on the send path: a cart flow with an entry segment sends to a matching contact and
stops for one outside it (a real collect event, burst workers, real SMTP), and a step's segment
skips that step with its reason, both decided under the send claim."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

from app.checkouts.models import Checkout, Contact, ContactHistory
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery.models import Enrollment, EnrollmentStatus, Flow, FlowStep, Segment
from app.recovery.sending import run_step
from tests.factories import make_store, payload
from tests.recovery.conftest import abandoned

EMAIL = {
    "channel": "email",
    "delay_seconds": 0,
    "variants": [{"subject": "Your cart at {{ store_name }}", "body": "Hi {{ first_name }}."}],
}


def started(email: str, first_name: str, tags: list[str] | None) -> dict:
    event = payload("segment_checkout_started.json")
    traits = {"email": email, "first_name": first_name}
    if tags is not None:
        traits["tags"] = tags
    event.update(
        messageId=uuid.uuid4().hex,
        anonymousId=uuid.uuid4().hex,
        timestamp=(utcnow() - timedelta(minutes=5)).isoformat(),
        context={"traits": traits},
    )
    event["properties"]["order_id"] = uuid.uuid4().hex
    return event


async def test_a_cart_flow_with_an_entry_segment_sends_only_inside_it(
    client, run_jobs, deps, clock, smtp
):
    issued = await make_store("custom", domain="shop.example.com", name="Velvet Fern")
    store, headers = issued.store, {"Authorization": f"Bearer {issued.api_token}"}
    store.abandon_after_seconds = 60
    await store.save()
    vip = await client.post(
        "/api/v1/segments",
        json={"name": "VIP", "conditions": {"tags_any": ["vip"]}},
        headers=headers,
    )
    [flow] = (await client.get("/api/v1/flows", headers=headers)).json()
    patched = await client.patch(
        f"/api/v1/flows/{flow['id']}",
        json={"segment_id": vip.json()["id"], "steps": [EMAIL]},
        headers=headers,
    )
    assert patched.status_code == 200, patched.text

    for event in (started("ada@example.com", "Ada", ["VIP"]), started("bo@example.com", "Bo", [])):
        response = await client.post(
            f"/collect/v1/events?key={store.publishable_key}",
            json=event,
            headers={"Origin": "https://shop.example.com"},
        )
        assert response.status_code == 202, response.text
    clock.now = utcnow() + timedelta(seconds=5)
    for _ in range(3):  # capture, abandonment, enrollment, then the first step's job
        await run_jobs(ctx={"recovery": deps})

    [mail] = smtp.messages
    assert mail["To"] == "ada@example.com" and mail["Subject"] == "Your cart at Velvet Fern"
    ada = await Contact.get(email="ada@example.com")
    bo = await Contact.get(email="bo@example.com")
    assert (ada.tags, bo.tags) == (["vip"], [])
    sent = await Enrollment.get(contact_id=ada.id)
    assert sent.status == EnrollmentStatus.COMPLETED
    stopped = await Enrollment.get(contact_id=bo.id)
    assert (stopped.status, stopped.stop_reason) == (
        EnrollmentStatus.STOPPED,
        "not in segment VIP (none of the tags)",
    )
    assert not await Message.filter(contact_id=bo.id).exists()
    assert await Checkout.filter(store=store).count() == 2


async def test_a_steps_segment_skips_that_step_and_the_flow_goes_on(deps, store, clock, smtp):
    big = await Segment.create(
        store=store,
        name="Big spenders",
        conditions={"total_spent": {"min": "500", "currency": "USD"}},
    )
    await Flow.filter(store=store).delete()  # the store's default playbook: ours instead
    flow = await Flow.create(store=store, name="Carts")
    await FlowStep.create(
        flow=flow,
        position=0,
        channel="email",
        delay_seconds=0,
        segment=big,
        variants=[{"key": "a", "subject": "For you", "body": "A gift."}],
    )
    await FlowStep.create(
        flow=flow,
        position=1,
        channel="email",
        delay_seconds=60,
        variants=[{"key": "a", "subject": "Still there?", "body": "Hi."}],
    )
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert enrollment.flow_id == flow.id
    assert await run_step(deps, enrollment.id, 0) == "skipped"
    assert await run_step(deps, enrollment.id, 1) == "sent"
    assert [m["Subject"] for m in smtp.messages] == ["Still there?"]
    assert await Message.filter(enrollment_id=enrollment.id).count() == 1

    # A shopper who has spent enough gets the step.
    rich = await Contact.create(store=store, email="rich@example.com")
    await ContactHistory.create(
        store=store, contact=rich, orders_count=3, total_spent=Decimal("500.00"), currency="USD"
    )
    _, again = await abandoned(
        store, clock.now - timedelta(minutes=16), email="rich@example.com", phone=None
    )
    assert again.contact_id == rich.id
    assert await run_step(deps, again.id, 0) == "sent"
    assert [m["Subject"] for m in smtp.messages] == ["Still there?", "For you"]


async def test_without_a_segment_a_cart_flow_sends_as_before(deps, store, clock, smtp):
    await Flow.filter(store=store).delete()  # the store's default playbook: ours instead
    flow = await Flow.create(store=store, name="Carts")
    await FlowStep.create(
        flow=flow,
        position=0,
        channel="email",
        delay_seconds=0,
        variants=[{"key": "a", "subject": "Your cart", "body": "Hi."}],
    )
    _, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    assert await run_step(deps, enrollment.id, 0) == "sent"
    assert (await Enrollment.get(id=enrollment.id)).status == EnrollmentStatus.COMPLETED

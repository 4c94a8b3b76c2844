"""Flows whose trigger is not an abandoned checkout, end to end: a signed Shopify webhook or a
collect event, the burst worker, and the message at the real SMTP server (or none, where a stop
rule applies); time-based triggers through the worker's pass over the indexed due times."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError

from app.checkouts.models import Contact, ContactHistory, Order
from app.core.timeutil import utcnow
from app.ingest.replay import replay
from app.messaging.models import Message
from app.recovery import entries
from app.recovery.models import Enrollment, EnrollmentStatus, Flow
from app.recovery.sending import Deps, run_step
from tests.factories import make_store, payload, shopify_headers

EMAIL = "maya.okafor@example.com"


def live(deps: Deps) -> Deps:
    """The send path on the real clock: webhooks and events are stamped with it."""
    return Deps(**{**deps.__dict__, "clock": utcnow})


def email_step(subject: str, body: str, delay: int = 0) -> dict[str, Any]:
    return {
        "channel": "email",
        "delay_seconds": delay,
        "variants": [{"subject": subject, "body": body}],
    }


async def make_flow(client, token: str, trigger: str, steps: list[dict], **extra: Any) -> int:
    body = {"name": trigger, "trigger": trigger, "steps": steps, **extra}
    response = await client.post(
        "/api/v1/flows", json=body, headers={"Authorization": f"Bearer {token}"}
    )
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def order_body(order_id: int, status: str, total: str, placed: datetime, **changes: Any) -> bytes:
    doc = payload("shopify_orders_create.json")
    at = placed.isoformat().replace("+00:00", "Z")
    doc.update(
        id=order_id,
        name=f"#{order_id}",
        financial_status=status,
        total_price=total,
        total_price_set={"shop_money": {"amount": total, "currency_code": "USD"}},
        processed_at=at,
        created_at=at,
        **changes,
    )
    return json.dumps(doc).encode()


async def deliver(client, body: bytes, topic: str) -> None:
    response = await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, topic)
    )
    assert response.status_code == 200, response.text


async def shopify_store():
    return await make_store("shopify", name="Velvet Fern")


PENDING_STEP = email_step(
    "Order {{ order_number }} is waiting for payment",
    "Hi {{ first_name }}, {% for i in items %}{{ i.title }}; {% endfor %}total {{ order_total }}",
)


async def test_payment_pending_order_gets_its_reminder_with_the_order_lines(
    client, run_jobs, deps, smtp
):
    issued = await shopify_store()
    await make_flow(client, issued.api_token, "order.payment_pending", [PENDING_STEP])
    checkout = payload("shopify_checkouts_create.json")
    body = json.dumps(checkout).encode()
    await deliver(client, body, "checkouts/create")
    await deliver(
        client,
        order_body(7001, "pending", "106.20", utcnow(), checkout_token=checkout["token"]),
        "orders/create",
    )
    await run_jobs(ctx={"recovery": live(deps)})
    [mail] = smtp.messages
    assert mail["To"] == EMAIL and mail["Subject"] == "Order 7001 is waiting for payment"
    text = mail.get_payload()[0].get_payload(decode=True).decode()
    assert "Linen Throw Pillow; Stoneware Mug;" in text and "$106.20" in text
    [enrollment] = await Enrollment.filter(trigger="order.payment_pending")
    assert enrollment.checkout_id is None and enrollment.order_id is not None
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert enrollment.transactional is True

    # The same order recorded again (an update, a replay): no second reminder.
    await replay(None, "all", None, None)
    await run_jobs(ctx={"recovery": live(deps)})
    assert len(smtp.messages) == 1
    assert await Enrollment.filter(trigger="order.payment_pending").count() == 1


async def test_a_pending_order_paid_before_its_step_gets_nothing(client, run_jobs, deps, smtp):
    issued = await shopify_store()
    step = {**PENDING_STEP, "delay_seconds": 3600}
    await make_flow(client, issued.api_token, "order.payment_pending", [step])
    placed = utcnow()
    await deliver(client, order_body(7002, "pending", "40.00", placed), "orders/create")
    await run_jobs(ctx={"recovery": live(deps)})
    [enrollment] = await Enrollment.filter(trigger="order.payment_pending")
    assert enrollment.status == EnrollmentStatus.ACTIVE

    await deliver(client, order_body(7002, "paid", "40.00", placed), "orders/updated")
    await run_jobs(ctx={"recovery": live(deps)})
    await enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == (EnrollmentStatus.STOPPED, "order_paid")
    later = Deps(**{**deps.__dict__, "clock": lambda: placed + timedelta(hours=2)})
    assert await run_step(later, enrollment.id, 0) == "stale"
    assert smtp.messages == [] and not await Message.exists(enrollment_id=enrollment.id)


async def test_payment_is_rechecked_under_the_claim(client, run_jobs, deps, smtp):
    """Paid while its event still waits in the queue: the claim reads the order and stops."""
    issued = await shopify_store()
    step = {**PENDING_STEP, "delay_seconds": 3600}
    await make_flow(client, issued.api_token, "order.payment_pending", [step])
    placed = utcnow()
    await deliver(client, order_body(7003, "pending", "40.00", placed), "orders/create")
    await run_jobs(ctx={"recovery": live(deps)})
    [enrollment] = await Enrollment.filter(trigger="order.payment_pending")
    await Order.filter(id=enrollment.order_id).update(financial_status="paid")
    later = Deps(**{**deps.__dict__, "clock": lambda: placed + timedelta(hours=2)})
    assert await run_step(later, enrollment.id, 0) == "stopped"
    await enrollment.refresh_from_db()
    assert enrollment.stop_reason == "order_paid" and smtp.messages == []


async def test_subscriber_welcome_from_a_collect_identify_once(client, run_jobs, deps, smtp):
    issued = await make_store("custom", name="Shop")
    await make_flow(
        client,
        issued.api_token,
        "contact.subscribed",
        [email_step("Welcome to {{ store_name }}", "Hi {{ first_name }}, glad you're here.")],
    )
    identify = {
        "type": "identify",
        "anonymousId": "visitor-9",
        "messageId": "m-welcome-1",
        "traits": {"email": "lee@example.com", "firstName": "Lee", "consent": {"email": True}},
    }
    url = f"/collect/v1/events?key={issued.store.publishable_key}"
    assert (await client.post(url, json=identify)).status_code == 202
    await run_jobs(ctx={"recovery": live(deps)})
    [mail] = smtp.messages
    assert mail["To"] == "lee@example.com" and mail["Subject"] == "Welcome to Shop"
    # The consent event handled again, or a second identify: still one welcome.
    contact = await Contact.get(email="lee@example.com")
    assert await entries.on_opt_in(contact.id, issued.store.id, utcnow(), None) == 0
    again = {**identify, "messageId": "m-welcome-2"}
    assert (await client.post(url, json=again)).status_code == 202
    await run_jobs(ctx={"recovery": live(deps)})
    assert len(smtp.messages) == 1


async def test_the_database_refuses_a_second_entry_for_the_same_period(settings):
    store = (await make_store("custom")).store
    contact = await Contact.create(store_id=store.id, email="x@example.com")
    flow = await Flow.create(store_id=store.id, name="w", trigger="contact.subscribed")
    values = {
        "store_id": store.id,
        "flow_id": flow.id,
        "contact_id": contact.id,
        "entry_key": "subscribed",
        "trigger": "contact.subscribed",
        "abandoned_at": utcnow(),
    }
    await Enrollment.create(**values)
    with pytest.raises(IntegrityError):
        await Enrollment.create(**values)


@pytest.mark.parametrize(
    ("trigger", "params", "totals", "fires_on"),
    [
        ("contact.orders_count_reached", {"count": 2}, ["30.00", "30.00", "30.00"], 2),
        ("contact.total_spent_reached", {"amount": "100.00"}, ["60.00", "39.99", "0.01"], 3),
    ],
)
async def test_milestones_enter_once_when_reached(
    client, run_jobs, deps, smtp, trigger, params, totals, fires_on
):
    issued = await shopify_store()
    step = email_step("Thank you, {{ first_name }}", "You are one of our best customers.")
    await make_flow(client, issued.api_token, trigger, [step], trigger_params=params)
    for n, total in enumerate(totals, start=1):
        placed = utcnow()
        await deliver(client, order_body(8000 + n, "paid", total, placed), "orders/create")
        await run_jobs(ctx={"recovery": live(deps)})
        assert len(smtp.messages) == (1 if n >= fires_on else 0), n
    history = await ContactHistory.get()
    assert history.total_spent == sum(Decimal(t) for t in totals)
    assert await Enrollment.filter(trigger=trigger).count() == 1


async def _lapsed_contact(client, run_jobs, deps, days_ago: float) -> None:
    await deliver(
        client,
        order_body(9001, "paid", "25.00", utcnow() - timedelta(days=days_ago)),
        "orders/create",
    )
    await run_jobs(ctx={"recovery": live(deps)})


async def test_lapsed_customer_is_won_back_by_the_worker_pass(client, run_jobs, deps, smtp):
    issued = await shopify_store()
    await _lapsed_contact(client, run_jobs, deps, 90.5)
    step = email_step("We miss you", "Hi {{ first_name }}, come back to {{ store_name }}.")
    await make_flow(client, issued.api_token, "contact.lapsed", [step], trigger_params={"days": 90})
    counts = await entries.enroll_due(utcnow(), deps.queue)
    assert counts["entered"] == 1
    # A second pass (another worker, a crash and a rerun) enrols nobody again.
    assert (await entries.enroll_due(utcnow(), deps.queue))["entered"] == 0
    await run_jobs(ctx={"recovery": live(deps)})
    [mail] = smtp.messages
    assert mail["Subject"] == "We miss you"
    [enrollment] = await Enrollment.filter(trigger="contact.lapsed")
    assert enrollment.entry_key and enrollment.entry_key.startswith("lapse:")


async def test_lapsed_flow_stops_when_the_contact_orders_again(client, run_jobs, deps, smtp):
    issued = await shopify_store()
    await _lapsed_contact(client, run_jobs, deps, 90.5)
    step = email_step("We miss you", "Come back.", delay=86400)
    await make_flow(client, issued.api_token, "contact.lapsed", [step], trigger_params={"days": 90})
    assert (await entries.enroll_due(utcnow(), deps.queue))["entered"] == 1
    await deliver(client, order_body(9002, "paid", "25.00", utcnow()), "orders/create")
    await run_jobs(ctx={"recovery": live(deps)})
    [enrollment] = await Enrollment.filter(trigger="contact.lapsed")
    assert (enrollment.status, enrollment.stop_reason) == (EnrollmentStatus.STOPPED, "order_placed")
    assert smtp.messages == []


async def test_birthdays_in_their_own_zones_across_dst(client, run_jobs, deps, smtp):
    """09:00 local on the day: Berlin in summer (CEST) is 07:00 UTC, in winter (CET) 08:00 UTC,
    New York in summer (EDT) 13:00 UTC. Each enters in its own hour, once."""
    issued = await make_store("custom", name="Shop")
    step = email_step(
        "Happy birthday, {{ first_name }}!", "A little something from {{ store_name }}."
    )
    flow_id = await make_flow(client, issued.api_token, "contact.birthday", [step])
    url = f"/collect/v1/events?key={issued.store.publishable_key}"
    people = [
        ("ber-summer@example.com", "07-14", "Europe/Berlin"),
        ("ber-winter@example.com", "01-15", "Europe/Berlin"),
        ("nyc-summer@example.com", "07-14", "America/New_York"),
    ]
    for n, (email, day, zone) in enumerate(people):
        identify = {
            "type": "identify",
            "anonymousId": f"v-{n}",
            "messageId": f"m-bday-{n}",
            "traits": {"email": email, "firstName": "Ann", "birthday": day},
            "context": {"timezone": zone},
        }
        assert (await client.post(url, json=identify)).status_code == 202
    await run_jobs(ctx={"recovery": live(deps)})
    due = {
        c.email: h.birthday_due_at
        for h in await ContactHistory.all()
        for c in [await Contact.get(id=h.contact_id)]
    }
    hours = {email: due[email].astimezone(UTC).hour for email, _, _ in people}
    assert hours == {
        "ber-summer@example.com": 7,
        "ber-winter@example.com": 8,
        "nyc-summer@example.com": 13,
    }
    winter, summer = due["ber-winter@example.com"], due["ber-summer@example.com"]
    entered = []
    for moment in (
        winter - timedelta(minutes=1),
        winter + timedelta(seconds=30),
        summer - timedelta(minutes=1),
        summer + timedelta(seconds=30),
        summer + timedelta(hours=6, seconds=30),
        summer + timedelta(hours=6, minutes=5),
    ):
        await entries.enroll_due(moment, None)
        rows = await Enrollment.filter(flow_id=flow_id).order_by("id")
        entered.append([(await Contact.get(id=e.contact_id)).email for e in rows])
    assert entered == [
        [],
        ["ber-winter@example.com"],
        ["ber-winter@example.com"],
        ["ber-winter@example.com", "ber-summer@example.com"],
        ["ber-winter@example.com", "ber-summer@example.com", "nyc-summer@example.com"],
        ["ber-winter@example.com", "ber-summer@example.com", "nyc-summer@example.com"],
    ]
    contact = await Contact.get(email="ber-summer@example.com")
    berlin = await Enrollment.get(flow_id=flow_id, contact_id=contact.id)
    assert berlin.entry_key == f"birthday:{summer.date().isoformat()}"
    assert berlin.abandoned_at == summer and berlin.next_due_at == summer
    at_nine = Deps(**{**deps.__dict__, "clock": lambda: summer + timedelta(minutes=1)})
    assert await run_step(at_nine, berlin.id, 0) == "sent"
    [mail] = smtp.messages
    assert mail["To"] == "ber-summer@example.com" and mail["Subject"] == "Happy birthday, Ann!"

"""Quiet hours made visible: the cart panel and the checkout API say when the next text goes out."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.accounts import sessions
from app.checkouts import services as checkouts
from app.checkouts.models import Checkout
from app.checkouts.schemas import CheckoutInput, ContactInput, LineItem
from app.core.timeutil import utcnow
from app.recovery import services as recovery
from app.recovery.models import Enrollment
from inbox.models import Conversation
from tests.factories import make_store
from tests.inbox.conftest import agent_session

LA = ZoneInfo("America/Los_Angeles")


def _next_night() -> datetime:
    """02:00 in Los Angeles, at least an hour from now: a text due then waits for 08:00."""
    now = utcnow()
    day = now.astimezone(LA).date()
    while True:
        moment = datetime.combine(day, time(2), LA).astimezone(UTC)
        if moment > now + timedelta(hours=1):
            return moment
        day += timedelta(days=1)


async def _cart_due_at_night():
    issued = await make_store("custom", sms_number="+14155550100", timezone="America/Los_Angeles")
    now = utcnow()
    contact = ContactInput(
        phone="+14155550173", first_name="Maya", sms_consent=True, consent_at=now - timedelta(1)
    )
    data = CheckoutInput(
        token="night-1",
        contact=contact,
        currency="USD",
        line_items=[LineItem("Linen Throw Pillow", 1, Decimal("48.00"))],
        subtotal=Decimal("48.00"),
        total=Decimal("48.00"),
        device="mobile",
        created_at=now - timedelta(hours=1),
        updated_at=now - timedelta(hours=1),
    )
    await checkouts.upsert_checkout(issued.store, data, now - timedelta(hours=1))
    checkout = await Checkout.get(token="night-1")
    await checkouts.mark_abandoned(checkout.id, now)
    enrollment = await recovery.enroll(checkout.id)
    due = _next_night()  # the flow's first step is the SMS 15 minutes after abandonment
    await Enrollment.filter(id=enrollment.id).update(
        abandoned_at=due - timedelta(minutes=15), next_due_at=due
    )
    return issued, await Checkout.get(id=checkout.id)


def _morning_after(night: datetime) -> datetime:
    """The store's default quiet hours open at 09:00 in the shopper's time."""
    return datetime.combine(night.astimezone(LA).date(), time(9), LA).astimezone(UTC)


async def test_the_checkout_api_says_the_text_waits_for_quiet_hours(client):
    issued, checkout = await _cart_due_at_night()
    auth = {"Authorization": f"Bearer {issued.api_token}"}
    body = (await client.get(f"/api/v1/checkouts/{checkout.id}", headers=auth)).json()
    step = body["next_step"]
    assert step["channel"] == "sms" and step["reason"] == "quiet hours"
    assert datetime.fromisoformat(step["at"]) == _morning_after(_next_night())
    assert step["local_time"].endswith("09:00") and step["zone"] == "America/Los_Angeles"
    listed = (await client.get("/api/v1/checkouts", headers=auth)).json()["items"]
    assert [c["next_step"] for c in listed] == [step]


async def test_the_cart_panel_says_the_text_waits_for_quiet_hours(client, redis):
    issued, checkout = await _cart_due_at_night()
    conv = await Conversation.create(
        store=issued.store, contact_id=checkout.contact_id, checkout=checkout, opened_at=utcnow()
    )
    _, token, _ = await agent_session(redis, issued.store, "nia@shop.example")
    client.cookies.set(sessions.COOKIE, token, domain="app.example.com")
    thread = (await client.get(f"/inbox/api/v1/conversations/{conv.id}")).json()
    sequence = thread["cart"]["sequence"]
    assert sequence["next_step"]["reason"] == "quiet hours"
    assert sequence["next_step"]["local_time"].endswith("09:00")
    assert sequence["summary"] == "Running · 0 of 5 steps sent"
    assert sequence["actions"] == ["pause", "stop"]

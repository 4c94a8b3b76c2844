"""The cart panel and thread in words a person reads: names, money, reasons and valid actions."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.checkouts.models import Checkout, Contact
from app.checkouts.services import mark_abandoned
from app.core.timeutil import utcnow
from app.recovery.services import enroll, stop_for_checkout
from inbox.models import Conversation
from tests.inbox.conftest import SHOPPER, agent_session, store_with_number

LINES = [
    {"title": "Linen Throw Pillow", "quantity": 1, "unit_price": "48.00", "line_total": "48.00"},
    {"title": "Candle", "quantity": 2, "unit_price": "18.0000", "line_total": "36.0000"},
]


async def _cart(store) -> Checkout:
    contact = await Contact.create(store=store, phone=SHOPPER, first_name="Maya")
    checkout = await Checkout.create(
        store=store,
        platform="custom",
        token="c-1",
        contact=contact,
        phone=SHOPPER,
        currency="USD",
        total=Decimal("84.0000"),
        line_items=LINES,
        last_activity_at=utcnow() - timedelta(hours=1),
        abandon_due_at=utcnow() - timedelta(minutes=1),
    )
    await mark_abandoned(checkout.id)
    await enroll(checkout.id)
    return checkout


async def test_reply_carries_the_agents_name_and_the_panel_speaks_plainly(
    client, text_in, redis, as_agent, inbox_settings, fake_twilio, run_jobs
):
    store = await store_with_number()
    checkout = await _cart(store)
    _, token, csrf = await agent_session(redis, store, "nia@shop.example", name="Nia Park")
    assert (await text_in("Is the pillow in stock?")).status_code == 200
    await run_jobs()  # the reply pauses the sequence through its event
    conv = await Conversation.get(store_id=store.id)
    api = as_agent(token, csrf)
    sent = await api.post(
        f"/inbox/api/v1/conversations/{conv.id}/messages",
        json={"body": "Yes, 3 left.", "client_id": "c-0001-abcdef"},
    )
    assert sent.json()["message"]["agent_name"] == "Nia Park"
    thread = (await api.get(f"/inbox/api/v1/conversations/{conv.id}")).json()
    assert [m["agent_name"] for m in thread["messages"] if m["author"] == "agent"] == ["Nia Park"]
    cart = thread["cart"]
    assert cart["total_text"] == "$84.00"
    assert [i["line_total_text"] for i in cart["items"]] == ["$48.00", "$36.00"]
    assert cart["sequence"]["summary"] == "Paused: the shopper replied · 0 of 5 steps sent"
    assert cart["sequence"]["actions"] == ["resume", "stop"]

    # What the order listener does (tests/recovery cover that an order gets here).
    await stop_for_checkout(checkout.id, "order_placed")
    thread = (await api.get(f"/inbox/api/v1/conversations/{conv.id}")).json()
    assert thread["cart"]["sequence"]["summary"].startswith("Stopped: the shopper ordered")
    assert thread["cart"]["sequence"]["actions"] == []
    assert checkout.id == thread["cart"]["id"]

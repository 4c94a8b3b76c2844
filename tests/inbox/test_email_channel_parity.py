"""The email channel works like SMS in the inbox: one thread with a text and an email, channel
badges, a snoozed or closed thread woken by an email, round-robin assignment, notes, canned
replies and the cart panel, and the first-response clock started by an email."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from email.message import EmailMessage

from app.checkouts.models import Checkout, Contact
from app.core.timeutil import utcnow
from app.messaging import addresses
from inbox import mail, presence, services
from inbox.inbound_email import receive_email
from inbox.models import CannedReply, Conversation, ConversationStatus
from tests.inbox.conftest import SHOPPER, agent_session, store_with_number
from tests.inbox.test_email_replies import email_settings, outgoing  # noqa: F401


def _mime(settings, store_id: int, contact_id: int, text: str, message_id: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = "Jane <jane@example.com>"
    mime["To"] = addresses.reply_address(settings, store_id, contact_id)
    mime["Subject"] = "Re: Your cart at Tidewater Teas"
    mime["Message-ID"] = message_id
    mime.set_content(text)
    return mime


async def _email_in(settings, redis, store_id: int, contact_id: int, text: str, n: int) -> int:
    mime = _mime(settings, store_id, contact_id, text, f"<jane-{n}@mail.example.com>")
    result = await receive_email(
        mail.from_mime(mime.as_bytes(), provider="smtp"), settings, redis, None
    )
    assert result.message_id is not None, result
    return result.message_id


async def test_email_works_like_sms_in_one_thread(
    client,
    text_in,
    redis,
    as_agent,
    email_settings,  # noqa: F811
    outgoing,  # noqa: F811
):
    store = await store_with_number(name="Tidewater Teas")
    jane = await Contact.create(
        store_id=store.id, email="jane@example.com", phone=SHOPPER, first_name="Jane"
    )
    cart = await Checkout.create(
        store_id=store.id,
        contact_id=jane.id,
        platform="custom",
        token="jane-cart",
        email=jane.email,
        status="abandoned",
        total=Decimal("42.00"),
        subtotal=Decimal("42.00"),
        currency="USD",
        last_activity_at=utcnow() - timedelta(hours=1),
        abandoned_at=utcnow() - timedelta(minutes=30),
    )
    agent, token, csrf = await agent_session(redis, store, "nia@shop.example")
    await presence.heartbeat(redis, store.id, agent.id, 45)
    api = as_agent(token, csrf)

    # An email opens the thread, is assigned round-robin and starts the first-response clock.
    await _email_in(email_settings, redis, store.id, jane.id, "Is the oolong in stock?", 1)
    conv = await Conversation.get(store_id=store.id, contact_id=jane.id)
    assert conv.assignee_id == agent.id and conv.response_channel == "email"
    # A text from the same shopper joins the same thread.
    assert (await text_in("Also, do you ship to Canada?")).status_code == 200
    assert await Conversation.filter(store_id=store.id, contact_id=jane.id).count() == 1
    base = f"/inbox/api/v1/conversations/{conv.id}"
    thread = (await api.get(base)).json()
    assert [(m["channel"], m["direction"]) for m in thread["messages"]] == [
        ("email", "inbound"),
        ("sms", "inbound"),
    ]
    assert thread["cart"]["id"] == cart.id and thread["cart"]["total"] == "42.0000"
    assert thread["conversation"]["first_response"]["channel"] == "email"  # the first message

    # A note never changes the reply channel; the composer defaults to the last one the shopper used.
    note = await api.post(base + "/notes", json={"body": "VIP", "client_id": "n-0100-abcdef"})
    assert note.status_code == 201
    assert (await api.get(base)).json()["reply_channel"] == "sms"
    await _email_in(email_settings, redis, store.id, jane.id, "Never mind, one more thing", 2)
    assert (await api.get(base)).json()["reply_channel"] == "email"

    # Canned replies are the store's, whatever the channel; the email reply goes out threaded.
    await CannedReply.create(store_id=store.id, title="Ship", body="We ship worldwide.")
    assert [c["title"] for c in (await api.get("/inbox/api/v1/canned")).json()["canned"]] == [
        "Ship"
    ]
    sent = await api.post(
        base + "/messages", json={"body": "We ship worldwide.", "client_id": "c-0100-abcdef"}
    )
    assert sent.status_code == 201 and sent.json()["message"]["channel"] == "email"

    # Snoozed, then an email wakes it; closed, then an email reopens it as a new opening.
    until = (utcnow() + timedelta(hours=2)).isoformat()
    assert (await api.post(base + "/snooze", json={"until": until})).status_code == 200
    await _email_in(email_settings, redis, store.id, jane.id, "Hello again", 3)
    woke = await Conversation.get(id=conv.id)
    assert woke.status == ConversationStatus.OPEN and woke.snoozed_until is None
    await services.set_status(store.id, conv.id, ConversationStatus.CLOSED)
    await _email_in(email_settings, redis, store.id, jane.id, "Back with a question", 4)
    reopened = await Conversation.get(id=conv.id)
    assert reopened.status == ConversationStatus.OPEN
    assert reopened.response_channel == "email" and reopened.responded_at is None

"""Agents answer by email from the inbox: threaded under the shopper's email, through the one
outbound service, arriving at a real SMTP server with the store's From and the reply address."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Iterator
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller

from app.checkouts.models import Contact
from app.config import Settings, use_settings
from app.core.timeutil import utcnow
from app.messaging import addresses
from app.messaging.models import Message
from inbox import mail
from inbox.inbound_email import receive_email
from inbox.models import Conversation
from inbox.replies import references, reply_subject
from tests.factories import free_port
from tests.inbox.conftest import SHOPPER, agent_session, store_with_number
from tests.recovery.conftest import Inbox

DOMAIN = "in.followup.test"


@pytest.fixture
def outgoing() -> Iterator[Inbox]:
    """The SMTP server the app sends through (aiosmtpd on loopback)."""
    inbox = Inbox(port=free_port())
    controller = Controller(inbox, hostname="127.0.0.1", port=inbox.port)
    controller.start()
    yield inbox
    controller.stop()


@pytest.fixture
async def email_settings(settings: Settings, outgoing: Inbox) -> AsyncIterator[Settings]:
    patched = dataclasses.replace(
        settings,
        email=dataclasses.replace(
            settings.email, smtp_url=f"smtp://127.0.0.1:{outgoing.port}", sendgrid_api_key=""
        ),
        inbound_mail=dataclasses.replace(settings.inbound_mail, domain=DOMAIN),
    )
    use_settings(patched)
    yield patched
    use_settings(settings)


async def emailed_in(settings: Settings, **contact: Any) -> tuple[Conversation, Contact]:
    """A shopper's email reply, parsed from MIME and stored by the inbox service."""
    store = await store_with_number(name="Tidewater Teas")
    shopper = await Contact.create(
        store_id=store.id, email="jane@example.com", first_name="Jane", **contact
    )
    mime = EmailMessage()
    mime["From"] = "Jane <jane@example.com>"
    mime["To"] = addresses.reply_address(settings, store.id, shopper.id)
    mime["Subject"] = "RE: Re: Your cart at Tidewater Teas"
    mime["Message-ID"] = "<jane-2@mail.example.com>"
    mime["In-Reply-To"] = "<followup.1@tidewater.example>"
    mime["References"] = "<followup.1@tidewater.example>"
    mime.set_content("Do you ship to Canada?")
    parsed = mail.from_mime(mime.as_bytes(), provider="smtp")
    result = await receive_email(parsed, settings, None, None)
    assert result.message_id is not None
    msg = await Message.get(id=result.message_id)
    return await Conversation.get(id=msg.conversation_id), shopper


async def test_agent_email_reply_is_threaded_and_arrives_with_the_store_rules(
    client, redis, as_agent, email_settings, outgoing
):
    conv, shopper = await emailed_in(email_settings)
    store_id = conv.store_id
    _, token, csrf = await agent_session(redis, await conv.store, "nia@shop.example")
    api = as_agent(token, csrf)
    thread = (await api.get(f"/inbox/api/v1/conversations/{conv.id}")).json()
    assert thread["reply_channel"] == "email"  # the shopper wrote by email
    assert thread["messages"][-1]["channel"] == "email"
    assert thread["messages"][-1]["subject"] == "RE: Re: Your cart at Tidewater Teas"
    payload = {"body": "Yes, we ship to Canada in 5 days.", "client_id": "mail-0001-abc"}
    response = await api.post(f"/inbox/api/v1/conversations/{conv.id}/messages", json=payload)
    assert response.status_code == 201, response.text
    assert response.json()["message"]["channel"] == "email"
    [sent] = outgoing.messages
    assert sent["To"] == "jane@example.com"
    assert sent["From"] == "Tidewater Teas <no-reply@localhost>"
    assert sent["Subject"] == "Re: Your cart at Tidewater Teas"
    assert sent["In-Reply-To"] == "<jane-2@mail.example.com>"
    assert sent["References"] == "<followup.1@tidewater.example> <jane-2@mail.example.com>"
    assert sent["Reply-To"] == addresses.reply_address(email_settings, store_id, shopper.id)
    assert sent["List-Unsubscribe"].startswith("<https://app.example.com/u/")
    assert sent["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert sent.get_payload(decode=True).decode().strip() == payload["body"]
    row = await Message.get(author="agent")
    assert (row.channel, row.status, row.provider) == ("email", "sent", "smtp")
    assert sent["Message-ID"] == row.email_headers["Message-ID"]
    # The same click again sends nothing more.
    again = await api.post(f"/inbox/api/v1/conversations/{conv.id}/messages", json=payload)
    assert again.json()["sent"] is False and len(outgoing.messages) == 1


async def test_channel_is_chosen_per_message_and_refusals_say_why(
    client, redis, as_agent, email_settings, outgoing
):
    conv, shopper = await emailed_in(email_settings)
    _, token, csrf = await agent_session(redis, await conv.store, "nia@shop.example")
    api = as_agent(token, csrf)
    url = f"/inbox/api/v1/conversations/{conv.id}/messages"
    no_phone = await api.post(
        url, json={"body": "Hi", "client_id": "mail-0002-abc", "channel": "sms"}
    )
    assert no_phone.status_code == 409 and no_phone.json()["error"] == "no_phone"
    bad = await api.post(url, json={"body": "Hi", "client_id": "mail-0003-abc", "channel": "fax"})
    assert bad.status_code == 422 and bad.json()["error"] == "bad_channel"
    await Contact.filter(id=shopper.id).update(email_undeliverable_at=utcnow(), phone=SHOPPER)
    bounced = await api.post(url, json={"body": "Hi", "client_id": "mail-0004-abc"})
    assert bounced.status_code == 409 and bounced.json()["error"] == "undeliverable"
    assert outgoing.messages == [] and not await Message.filter(author="agent").exists()


def test_reply_subject_and_references_follow_rfc_5322():
    assert reply_subject("Re: RE: aw: Your cart") == "Re: Your cart"
    assert reply_subject("Your cart") == "Re: Your cart"
    assert references(None, "<a@x>") == "<a@x>"
    assert references("<a@x>\r\n <b@x>", "<c@x>") == "<a@x> <b@x> <c@x>"
    long = " ".join(f"<m{i}@x>" for i in range(40))
    kept = references(long, "<last@x>").split()
    assert len(kept) == 20 and kept[0] == "<m0@x>" and kept[-1] == "<last@x>"
    assert references(None, None) is None

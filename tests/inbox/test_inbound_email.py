"""Inbound email: a real SMTP session into `followup mail`'s receiver and SendGrid Inbound Parse
posts, into the shopper's thread; auto-replies, DSNs, forged addresses and oversize mail."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import json
import logging
import smtplib
from collections.abc import AsyncIterator
from email import message_from_string, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from app.checkouts.models import Contact
from app.config import Settings, use_settings
from app.core.outbox import OutboxEvent
from app.integrations.smtp import receiver
from app.messaging import addresses
from app.messaging.models import Message
from inbox.models import Conversation
from tests.factories import free_port
from tests.inbox.conftest import store_with_number

DOMAIN = "in.followup.test"
SECRET = "sg-inbound-secret-0123456789"
PAYLOAD = Path(__file__).resolve().parents[1] / "payloads" / "sendgrid_inbound_parse.json"


@pytest.fixture
async def mail_settings(settings: Settings) -> AsyncIterator[Settings]:
    patched = dataclasses.replace(
        settings,
        inbound_mail=dataclasses.replace(
            settings.inbound_mail, domain=DOMAIN, max_bytes=64 * 1024, sendgrid_secret=SECRET
        ),
    )
    use_settings(patched)
    yield patched
    use_settings(settings)


@pytest.fixture
async def mx(mail_settings: Settings, redis: Any, queue: Any) -> AsyncIterator[int]:
    """`followup mail`'s receiver on the test loop and a free loopback port."""
    port = free_port()
    server = await receiver.start(mail_settings, "127.0.0.1", port, redis, queue)
    yield port
    server.close()
    await server.wait_closed()


async def shopper(mail_settings: Settings) -> tuple[Contact, str]:
    store = await store_with_number(name="Tidewater Teas")
    contact = await Contact.create(store_id=store.id, email="jane@example.com", first_name="Jane")
    return contact, addresses.reply_address(mail_settings, store.id, contact.id)


def reply_mail(to: str, body: str, **headers: str) -> EmailMessage:
    mime = EmailMessage()
    mime["From"] = "Jane Shopper <jane@example.com>"
    mime["To"] = to
    mime["Subject"] = headers.pop("Subject", "Re: Your cart at Tidewater Teas")
    mime["Message-ID"] = headers.pop("Message_ID", "<reply-1@mail.example.com>")
    for name, value in headers.items():
        mime[name.replace("_", "-")] = value
    mime.set_content(body)
    return mime


def smtp_send(port: int, mime: EmailMessage, rcpt: str, sender: str = "jane@example.com") -> Any:
    """A real SMTP session (smtplib), off the loop the receiver runs on."""

    def talk() -> Any:
        with smtplib.SMTP("127.0.0.1", port, timeout=10) as smtp:
            return smtp.send_message(mime, from_addr=sender, to_addrs=[rcpt])

    return asyncio.to_thread(talk)


QUOTED = (
    "Is the oolong tin airtight?\n\n"
    "On Wed, Jan 14, 2026 at 10:00 AM Tidewater Teas <shop@tidewater.example> wrote:\n"
    "> Your cart is waiting: 1 x Oolong tin.\n> Complete your order here.\n"
)


async def test_reply_over_smtp_lands_in_the_thread_with_only_the_new_text(mail_settings, mx):
    contact, address = await shopper(mail_settings)
    mime = reply_mail(address, QUOTED, In_Reply_To="<followup.7@tidewater.example>")
    mime.add_attachment(b"\x89PNG" + b"0" * 2000, maintype="image", subtype="png", filename="a.png")
    assert await smtp_send(mx, mime, address) == {}
    [msg] = await Message.all()
    conv = await Conversation.get(id=msg.conversation_id)
    assert (msg.channel, msg.direction, msg.author, msg.provider) == (
        "email",
        "inbound",
        "shopper",
        "smtp",
    )
    assert msg.body == "Is the oolong tin airtight?"
    assert msg.subject == "Re: Your cart at Tidewater Teas"
    assert msg.email_headers["In-Reply-To"] == "<followup.7@tidewater.example>"
    assert msg.attachments == [{"filename": "a.png", "content_type": "image/png", "size": 2004}]
    assert conv.contact_id == contact.id and conv.inbound_count == 1
    [event] = await OutboxEvent.filter(name="shopper.replied")
    assert event.payload["contact_id"] == contact.id and event.subject_id == msg.id
    # The same email again (a sender retrying after a lost 250) is stored once.
    assert await smtp_send(mx, mime, address) == {}
    assert await Message.all().count() == 1


async def test_forged_or_unknown_reply_addresses_are_refused_at_rcpt_and_logged(
    mail_settings, mx, caplog
):
    contact, address = await shopper(mail_settings)
    local, _, domain = address.partition("@")
    forged = local[:-1] + ("a" if local[-1] != "a" else "b") + "@" + domain
    other_contact = address.replace(f"-{contact.id}-", f"-{contact.id + 1}-")
    caplog.set_level(logging.WARNING, logger="app.integrations.smtp.receiver")
    for rcpt in (forged, other_contact, "someone@" + DOMAIN):
        with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
            await smtp_send(mx, reply_mail(rcpt, "hi"), rcpt)
        [(code, text)] = refused.value.recipients.values()
        assert code == 550 and b"5.1.1" in text
    assert "not a valid reply address" in caplog.text
    assert await Message.all().count() == 0


async def test_an_email_over_the_size_limit_is_refused_with_552(mail_settings, mx):
    _, address = await shopper(mail_settings)
    big = reply_mail(address, "x" * (80 * 1024))
    with pytest.raises(smtplib.SMTPException) as refused:
        await smtp_send(mx, big, address)
    assert "552" in str(refused.value)
    assert await Message.all().count() == 0


async def test_auto_replies_never_open_or_touch_a_thread(mail_settings, mx):
    _, address = await shopper(mail_settings)
    for n, headers in enumerate(
        (
            {"Auto_Submitted": "auto-replied"},
            {"X_Autoreply": "yes"},
            {"Precedence": "auto_reply"},
            {"Subject": "Out of Office: back on Monday"},
        )
    ):
        mime = reply_mail(address, "I am away until Monday.", Message_ID=f"<ooo-{n}@x>", **headers)
        assert await smtp_send(mx, mime, address) == {}
    assert await Message.all().count() == 0
    assert await Conversation.all().count() == 0
    assert not await OutboxEvent.filter(name="shopper.replied").exists()


def dsn(to: str, recipient: str, action: str, status: str) -> EmailMessage:
    """A delivery status notification shaped as RFC 3464 describes it."""
    raw = (
        "From: Mail Delivery Subsystem <MAILER-DAEMON@mx.example.com>\n"
        f"To: {to}\nSubject: Undelivered Mail Returned to Sender\n"
        f"Message-ID: <dsn-{status}@mx.example.com>\nMIME-Version: 1.0\n"
        'Content-Type: multipart/report; report-type="delivery-status"; boundary="dsn-b"\n\n'
        "--dsn-b\nContent-Type: text/plain\n\nYour message could not be delivered.\n\n"
        "--dsn-b\nContent-Type: message/delivery-status\n\n"
        "Reporting-MTA: dns; mx.example.com\n\n"
        f"Final-Recipient: rfc822; {recipient}\nAction: {action}\nStatus: {status}\n"
        "Diagnostic-Code: smtp; 550 5.1.1 no such user\n\n"
        "--dsn-b--\n"
    )
    built = message_from_string(raw, policy=policy.default)
    assert isinstance(built, EmailMessage)
    return built


async def test_a_hard_bounce_marks_the_address_undeliverable_and_a_soft_one_does_not(
    mail_settings, mx
):
    contact, address = await shopper(mail_settings)
    delayed = dsn(address, "jane@example.com", "delayed", "4.4.1")
    assert await smtp_send(mx, delayed, address, sender="") == {}
    await contact.refresh_from_db()
    assert contact.email_undeliverable_at is None
    failed = dsn(address, "jane@example.com", "failed", "5.1.1")
    assert await smtp_send(mx, failed, address, sender="") == {}
    await contact.refresh_from_db()
    assert contact.email_undeliverable_at is not None
    assert await Message.all().count() == 0 and await Conversation.all().count() == 0
    assert not await OutboxEvent.filter(name="shopper.replied").exists()  # never pauses


def sendgrid_form(address: str) -> tuple[dict[str, str], dict[str, Any]]:
    fields = json.loads(PAYLOAD.read_text().replace("{REPLY}", address))
    fields.pop("_source")
    files = {"attachment1": ("tin.jpg", b"\xff\xd8\xff" + b"1" * 997, "image/jpeg")}
    return fields, files


async def test_sendgrid_inbound_parse_post_lands_in_the_thread(mail_settings, client):
    contact, address = await shopper(mail_settings)
    data, files = sendgrid_form(address)
    response = await client.post(f"/webhooks/sendgrid/inbound/{SECRET}", data=data, files=files)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "stored"
    [msg] = await Message.all()
    assert msg.provider == "sendgrid" and msg.contact_id == contact.id
    assert msg.body == "Does the oolong come in a smaller tin?\n\nJane"
    assert msg.html is not None and "<b>smaller</b>" in msg.html
    assert "<script" not in msg.html and "<img" not in msg.html
    assert msg.attachments == [{"filename": "tin.jpg", "content_type": "image/jpeg", "size": 1000}]
    assert msg.provider_id == "<CAN_P_JMvV7ZpAQhOnDienypLrJmuhN=LQWweu4yScw4jQyXY2w@mail.gmail.com>"
    # SendGrid retries: the same post again keeps one row.
    again = await client.post(f"/webhooks/sendgrid/inbound/{SECRET}", data=data, files=files)
    assert again.json()["status"] == "duplicate" and await Message.all().count() == 1


async def test_sendgrid_secret_by_basic_auth_and_refusals(mail_settings, client, caplog):
    _, address = await shopper(mail_settings)
    data, files = sendgrid_form(address)
    wrong = await client.post("/webhooks/sendgrid/inbound/not-the-secret", data=data, files=files)
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad_secret"
    assert (await client.post("/webhooks/sendgrid/inbound", data=data)).status_code == 401
    basic = "Basic " + base64.b64encode(f"sendgrid:{SECRET}".encode()).decode()
    forged = {**data, "envelope": json.dumps({"to": ["reply+1-1-aaaaaaaaaaaaaaaa@" + DOMAIN]})}
    forged["to"] = forged["headers"] = ""
    caplog.set_level(logging.WARNING, logger="inbox.inbound_email")
    dropped = await client.post(
        "/webhooks/sendgrid/inbound", data=forged, headers={"Authorization": basic}
    )
    assert dropped.status_code == 200 and dropped.json()["status"] == "dropped"
    assert "no valid reply address" in caplog.text
    assert await Message.all().count() == 0
    ok = await client.post(
        "/webhooks/sendgrid/inbound", data=data, headers={"Authorization": basic}
    )
    assert ok.json()["status"] == "stored"


async def test_sendgrid_raw_mode_auto_reply_is_ignored(mail_settings, client):
    _, address = await shopper(mail_settings)
    raw = reply_mail(address, "Out of office.", Auto_Submitted="auto-replied").as_string()
    envelope = json.dumps({"to": [address], "from": "jane@example.com"})
    response = await client.post(
        f"/webhooks/sendgrid/inbound/{SECRET}", data={"email": raw, "envelope": envelope}
    )
    assert response.json()["status"] == "auto_reply"
    assert await Message.all().count() == 0 and await Conversation.all().count() == 0


async def test_sendgrid_post_over_the_size_limit_is_refused_with_413(mail_settings, client):
    _, address = await shopper(mail_settings)
    data, files = sendgrid_form(address)
    data["text"] = "x" * (100 * 1024)
    response = await client.post(f"/webhooks/sendgrid/inbound/{SECRET}", data=data, files=files)
    assert response.status_code == 413 and response.json()["error"] == "too_large"
    assert await Message.all().count() == 0


async def test_two_first_emails_at_once_open_one_thread(mail_settings, redis):
    from inbox import mail
    from inbox.inbound_email import receive_email

    contact, address = await shopper(mail_settings)
    parsed = [
        mail.from_mime(
            reply_mail(address, f"Question {n}", Message_ID=f"<q{n}@x>").as_bytes(),
            provider="smtp",
        )
        for n in range(2)
    ]
    results = await asyncio.gather(*(receive_email(p, mail_settings, redis, None) for p in parsed))
    assert sorted(str(r.outcome) for r in results) == ["stored", "stored"]
    [conv] = await Conversation.filter(contact_id=contact.id)
    assert conv.inbound_count == 2
    assert await Message.filter(conversation_id=conv.id).count() == 2

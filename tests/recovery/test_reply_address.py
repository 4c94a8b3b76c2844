"""Every recovery email carries its shopper's signed reply address and our Message-ID; a reply
to it, over a real SMTP session into `followup mail`, pauses the sequence like a text reply."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from datetime import timedelta
from email.message import EmailMessage
from email.utils import parseaddr

from app.config import use_settings
from app.core import events
from app.core.outbox import OutboxEvent
from app.integrations.smtp import receiver
from app.messaging import addresses
from app.messaging.models import Message
from app.recovery.models import EnrollmentStatus
from app.recovery.sending import run_step
from tests.factories import free_port
from tests.recovery.conftest import abandoned

DOMAIN = "in.tidewater.test"


async def test_recovery_email_carries_reply_address_and_a_reply_pauses_the_sequence(
    deps, store, clock, smtp, redis, queue, settings
):
    session_settings = settings
    settings = dataclasses.replace(
        deps.settings,
        inbound_mail=dataclasses.replace(deps.settings.inbound_mail, domain=DOMAIN),
    )
    use_settings(settings)
    try:
        deps = dataclasses.replace(deps, settings=settings)
        checkout, enrollment = await abandoned(store, clock.now - timedelta(hours=2), phone=None)
        assert await run_step(deps, enrollment.id, 0) == "skipped"  # no phone: the SMS step
        assert await run_step(deps, enrollment.id, 1) == "sent"
        [sent] = smtp.messages
        row = await Message.get(enrollment_id=enrollment.id, step_index=1)
        expected = addresses.reply_address(settings, store.id, checkout.contact_id)
        assert sent["Reply-To"] == expected and expected.endswith("@" + DOMAIN)
        assert smtp.senders == [expected]  # bounces come back to the same address
        domain = parseaddr(row.from_address)[1].rpartition("@")[2]
        assert sent["Message-ID"] == f"<followup.{row.id}@{domain}>"
        assert row.email_headers["Reply-To"] == expected
        assert row.email_headers["Message-ID"] == sent["Message-ID"]
        assert addresses.thread_of(settings, expected.upper().replace(DOMAIN.upper(), DOMAIN))

        port = free_port()
        server = await receiver.start(settings, "127.0.0.1", port, redis, queue)
        try:
            reply = EmailMessage()
            reply["From"], reply["To"] = "jane@example.com", sent["Reply-To"]
            reply["Subject"], reply["Message-ID"] = "Re: " + sent["Subject"], "<r1@example.com>"
            reply["In-Reply-To"] = sent["Message-ID"]
            reply.set_content("Can I pay on delivery?")

            def talk() -> None:
                with smtplib.SMTP("127.0.0.1", port, timeout=10) as client:
                    client.send_message(reply)

            await asyncio.to_thread(talk)
        finally:
            server.close()
        [event] = await OutboxEvent.filter(name=events.SHOPPER_REPLIED)
        assert await events.dispatch(event.id)
        await enrollment.refresh_from_db()
        assert enrollment.status == EnrollmentStatus.PAUSED
        assert enrollment.pause_reason == "shopper_replied"
    finally:
        use_settings(session_settings)


async def test_without_an_inbound_domain_the_store_reply_to_stands(deps, store, clock, smtp):
    store.settings = {**(store.settings or {}), "email_reply_to": "help@tidewater.example"}
    await store.save()
    _, enrollment = await abandoned(store, clock.now - timedelta(hours=2), phone=None)
    assert await run_step(deps, enrollment.id, 0) == "skipped"
    assert await run_step(deps, enrollment.id, 1) == "sent"
    [sent] = smtp.messages
    assert sent["Reply-To"] == "help@tidewater.example"
    assert sent["Message-ID"].startswith("<followup.")

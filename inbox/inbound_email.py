"""Inbound email, as a recipe: find the thread by its reply address, sort out machines, store, announce.

Whichever door it came through (`followup mail` or SendGrid Inbound Parse), an email is:
- dropped and logged when no recipient is a reply address we signed (made up, edited, old domain);
- a bounce (DSN): a hard one marks the address undeliverable; the thread is not touched;
- an auto-reply (out of office...): logged, the thread is not touched, automation goes on;
- else the shopper's reply: stored once (its Message-ID is the unique key), in the shopper's
  thread, and `shopper.replied` pauses the sequence exactly as a text reply does.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass
from enum import StrEnum

from arq.connections import ArqRedis
from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.checkouts.models import Contact
from app.config import Settings
from app.core import events
from app.core.logging import ctx
from app.core.scheduling import dispatch_soon, schedule_dispatch
from app.core.timeutil import utcnow
from app.messaging import addresses, outbound
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.messaging.senders import ContactFlag
from app.stores.models import Store, StoreStatus
from inbox import services
from inbox.mail import InboundEmail

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    DROPPED = "dropped"  # no signed reply address among the recipients
    AUTO_REPLY = "auto_reply"
    BOUNCE = "bounce"


@dataclass(frozen=True, slots=True)
class Received:
    outcome: Outcome
    message_id: int | None = None


async def receive_email(
    mail: InboundEmail, settings: Settings, redis: Redis | None, queue: ArqRedis | None
) -> Received:
    """Store one inbound email at most once; see the module docstring for what else it may be."""
    thread = addresses.first_thread(settings, *mail.recipients)
    store = await Store.get_or_none(id=thread.store_id) if thread else None
    contact = (
        await Contact.get_or_none(id=thread.contact_id, store_id=thread.store_id)
        if thread
        else None
    )
    if thread is None or store is None or contact is None or store.status != StoreStatus.ACTIVE:
        named = [a for a in mail.recipients if "reply+" in a]
        log.warning(
            "inbound email dropped: no valid reply address",
            extra=ctx(provider=mail.provider, recipients=named[:3] or list(mail.recipients[:3])),
        )
        return Received(Outcome.DROPPED)
    if mail.bounce is not None:
        return await _bounced(mail, store, contact)
    if mail.auto_reply:
        log.info("inbound auto-reply ignored", extra=ctx(store=store.id, contact=contact.id))
        return Received(Outcome.AUTO_REPLY)
    return await _reply(mail, store, contact, settings, redis, queue)


async def _bounced(mail: InboundEmail, store: Store, contact: Contact) -> Received:
    """A hard bounce for the shopper's address flags it, as a provider's permanent refusal does."""
    bounce = mail.bounce
    assert bounce is not None
    same = bounce.recipient is None or (
        contact.email is not None and bounce.recipient.lower() == contact.email.lower()
    )
    if bounce.hard and same:
        await outbound.flag_contact(None, contact.id, "email", ContactFlag.UNDELIVERABLE, utcnow())
    log.info(
        "inbound bounce",
        extra=ctx(store=store.id, contact=contact.id, status=bounce.status, hard=bounce.hard),
    )
    return Received(Outcome.BOUNCE)


def _key(store_id: int, mail: InboundEmail) -> str:
    """One row per Message-ID per store (a redelivery is a duplicate); without one, the content."""
    basis = mail.message_id or f"{mail.sender}|{mail.subject}|{mail.text}"
    return f"email-in:{store_id}:{hashlib.sha256(basis.encode()).hexdigest()[:40]}"


async def _reply(
    mail: InboundEmail,
    store: Store,
    contact: Contact,
    settings: Settings,
    redis: Redis | None,
    queue: ArqRedis | None,
) -> Received:
    now = utcnow()
    try:
        async with in_transaction() as conn:
            # The contact first, then its thread, as inbound texts lock them: two emails at
            # once cannot open two threads, nor wait on a text in the opposite order.
            await Contact.select_for_update().using_db(conn).get(id=contact.id)
            conv, _ = await services.conversation_for(store.id, contact.id, now, conn)
            msg = await Message.create(
                store_id=store.id,
                contact_id=contact.id,
                checkout_id=conv.checkout_id,
                conversation_id=conv.id,
                channel=Channel.EMAIL,
                direction=Direction.INBOUND,
                author=Author.SHOPPER,
                to_address=addresses.reply_address(settings, store.id, contact.id),
                from_address=mail.sender[:320] or None,
                subject=mail.subject or None,
                body=mail.text or _empty(mail),
                html=mail.html,
                email_headers=mail.headers,
                attachments=[a.as_dict() for a in mail.attachments],
                status=DeliveryStatus.RECEIVED,
                provider=mail.provider,
                provider_id=mail.message_id[:128] or None,
                idempotency_key=_key(store.id, mail),
                using_db=conn,
            )
            await services.record_message(conv, msg, conn, store)
            payload = {
                "contact_id": contact.id,
                "checkout_id": conv.checkout_id,
                "conversation_id": conv.id,
            }
            outbox_id = await events.record(
                events.SHOPPER_REPLIED, store.id, msg.id, payload, using=conn
            )
    except IntegrityError:  # the same Message-ID was stored before: keep nothing
        return Received(Outcome.DUPLICATE)
    await events.notify(events.MESSAGE_CHANGED, message=msg, conversation=conv, contact=contact)
    if queue is not None:
        await schedule_dispatch(queue, outbox_id)
    else:  # the mail process of `followup dev`: the process-wide queue
        await dispatch_soon(outbox_id)
    log.info("inbound email", extra=ctx(store=store.id, message=msg.id, provider=mail.provider))
    if conv.assignee_id is None and redis is not None:
        await services.auto_assign(redis, store.id, settings.inbox.presence_seconds)
    return Received(Outcome.STORED, msg.id)


def _empty(mail: InboundEmail) -> str:
    if mail.attachments:
        return "[attachments: " + ", ".join(a.filename for a in mail.attachments) + "]"
    return "[empty email]"

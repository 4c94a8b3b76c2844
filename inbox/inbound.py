"""Inbound SMS, as a recipe: find the store, set the contact, set the conversation, store, announce."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from arq.connections import ArqRedis
from redis.asyncio import Redis
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.checkouts.models import Contact
from app.config import Settings
from app.core import events
from app.core.errors import ApiError
from app.core.logging import ctx
from app.core.phones import parse_phone
from app.core.scheduling import schedule_dispatch
from app.core.timeutil import utcnow
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.stores.models import Store
from app.stores.services import capture_store
from inbox import consent, services
from inbox.models import Conversation
from inbox.rules import Keyword, keyword_of
from inbox.schemas import InboundSms

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class InboundResult:
    duplicate: bool
    message_id: int | None
    reply: str | None = None
    """Text to answer with in TwiML (HELP); None for an empty response."""


def help_text(store: Store) -> str:
    custom = (store.settings or {}).get("sms_help_text")
    if isinstance(custom, str) and custom.strip():
        return custom.strip()[:320]
    return (
        f"{store.name}: questions about your order? Reply here to reach us. Reply STOP to opt out."
    )


async def receive_sms(
    sms: InboundSms, settings: Settings, redis: Redis, queue: ArqRedis | None
) -> InboundResult:
    """Store one inbound text exactly once, then tell agents first and the recovery engine next.

    The unique MessageSid key on the message decides duplicates: a redelivery rolls its whole
    transaction back, consent changes included, so nothing is kept twice.
    """
    store = await capture_store("sms", sms.to)
    if store is None:
        raise ApiError(404, "unknown_number", f"no active store owns the number {sms.to!r}")
    phone = parse_phone(sms.from_).e164
    if phone is None:
        raise ApiError(400, "bad_from", f"From {sms.from_[:32]!r} is not an E.164 phone number")
    try:
        saved = await _store(store, phone, sms, f"twilio-in:{sms.message_sid}", utcnow())
    except IntegrityError:  # the same MessageSid was stored before (or just now): keep nothing
        return InboundResult(True, None)
    msg, conv, contact = saved.message, saved.conversation, saved.contact
    # Agents first, through the same notification every sent or delivered message goes through.
    await events.notify(events.MESSAGE_CHANGED, message=msg, conversation=conv, contact=contact)
    for outbox_id in saved.outbox_ids:
        await schedule_dispatch(queue, outbox_id)
    log.info("inbound sms", extra=ctx(store=store.id, message=msg.id, keyword=saved.keyword))
    replied = saved.keyword in (None, Keyword.MAYBE_OPT_OUT)
    if replied and conv.assignee_id is None:
        # Only a message in an unassigned thread can change the queue round-robin serves.
        await services.auto_assign(redis, store.id, settings.inbox.presence_seconds)
    reply = help_text(store) if saved.keyword == Keyword.HELP else None
    if reply:
        await _record_help_reply(store, saved, reply)
    return InboundResult(False, msg.id, reply)


@dataclass(frozen=True, slots=True)
class _Saved:
    message: Message
    conversation: Conversation
    contact: Contact
    outbox_ids: list[int]
    keyword: Keyword | None


async def _locked_contact(store_id: int, phone: str, conn: Any) -> Contact:
    """Lock the contact row (creating it if new) so two texts at once cannot open two threads."""
    query = Contact.select_for_update().using_db(conn)
    contact = await query.get_or_none(store_id=store_id, phone=phone)
    if contact is None:
        # ON CONFLICT DO NOTHING: a concurrent first text from the same number cannot fail us.
        new = Contact(store_id=store_id, phone=phone)
        await Contact.bulk_create([new], ignore_conflicts=True, using_db=conn)
        contact = await query.get(store_id=store_id, phone=phone)
    return contact


async def _store(store: Store, phone: str, sms: InboundSms, key: str, now: datetime) -> _Saved:
    """One transaction: the message, its conversation, any consent change and the domain events."""
    keyword = keyword_of(sms.body)
    async with in_transaction() as conn:
        conv = await services.thread_of_phone(store.id, phone, now, conn)
        if conv is None:  # a first text: new contact, or one we never talked with
            contact = await _locked_contact(store.id, phone, conn)
            conv, _ = await services.conversation_for(store.id, contact.id, now, conn)
        else:
            contact = conv.contact
        msg = Message(
            store_id=store.id,
            contact_id=contact.id,
            checkout_id=conv.checkout_id,
            conversation_id=conv.id,
            channel=Channel.SMS,
            direction=Direction.INBOUND,
            author=Author.SHOPPER,
            to_address=sms.to,
            from_address=contact.phone,
            body=sms.body,
            media_urls=list(sms.media_urls),
            segments=sms.segments,
            status=DeliveryStatus.RECEIVED,
            provider="twilio",
            provider_id=sms.message_sid,
            idempotency_key=key,
        )
        if keyword is None:  # a plain reply, nearly every text: one statement on PostgreSQL
            event = await services.record_text(
                conv, msg, conn, store, events.SHOPPER_REPLIED, _replied(contact, conv)
            )
            return _Saved(msg, conv, contact, [event], keyword)
        await msg.save(using_db=conn, force_create=True)
        awaits = keyword == Keyword.MAYBE_OPT_OUT  # STOP, START, HELP need no agent
        await services.record_message(conv, msg, conn, store, awaits_answer=awaits)
        outbox_ids = await _events(store, contact, conv, msg, keyword, sms.body, now, conn)
    return _Saved(msg, conv, contact, outbox_ids, keyword)


def _replied(contact: Contact, conv: Conversation) -> dict[str, Any]:
    return {"contact_id": contact.id, "checkout_id": conv.checkout_id, "conversation_id": conv.id}


async def _events(
    store: Store,
    contact: Contact,
    conv: Conversation,
    msg: Message,
    keyword: Keyword | None,
    body: str,
    now: datetime,
    conn: Any,
) -> list[int]:
    if keyword is not None and keyword != Keyword.MAYBE_OPT_OUT:
        return await consent.apply_keyword(contact, keyword, body, now, conn)
    if keyword == Keyword.MAYBE_OPT_OUT:  # still a reply: an agent answers it and decides
        await consent.hold(contact, body, now, conn)
    replied = _replied(contact, conv)
    return [await events.record(events.SHOPPER_REPLIED, store.id, msg.id, replied, using=conn)]


async def _record_help_reply(store: Store, saved: _Saved, text: str) -> None:
    """The HELP answer goes back inside the TwiML response; keep it in the thread too."""
    inbound, contact = saved.message, saved.contact
    msg = await Message.create(
        store_id=store.id,
        contact_id=contact.id,
        conversation_id=inbound.conversation_id,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        author=Author.SYSTEM,
        to_address=contact.phone or "",
        from_address=store.sms_number,
        body=text,
        status=DeliveryStatus.SENT,
        provider="twiml",
        idempotency_key=f"twilio-help:{inbound.provider_id}",
    )
    await events.notify(events.MESSAGE_CHANGED, message=msg, contact=contact)

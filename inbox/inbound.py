"""Inbound SMS, as a recipe: find the store, set the contact, set the conversation, store, announce."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

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
from app.stores.models import Store, StoreStatus
from inbox import consent, services
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
    """Store one inbound text exactly once, then tell agents and the recovery engine."""
    store = await Store.get_or_none(sms_number=sms.to, status=StoreStatus.ACTIVE)
    if store is None:
        raise ApiError(404, "unknown_number", f"no active store owns the number {sms.to!r}")
    phone = parse_phone(sms.from_).e164
    if phone is None:
        raise ApiError(400, "bad_from", f"From {sms.from_[:32]!r} is not an E.164 phone number")
    key = f"twilio-in:{sms.message_sid}"
    if await Message.exists(idempotency_key=key):
        return InboundResult(True, None)
    contact = await _contact(store, phone)
    try:
        msg, outbox_ids, keyword = await _store(store, contact, sms, key, utcnow())
    except IntegrityError:  # the same MessageSid raced us and won: nothing of ours was kept
        return InboundResult(True, None)
    for outbox_id in outbox_ids:
        await schedule_dispatch(queue, outbox_id)
    log.info("inbound sms", extra=ctx(store=store.id, message=msg.id, keyword=keyword))
    await services.announce_message(msg, contact)
    if keyword is None:
        await services.auto_assign(redis, store.id, settings.inbox.presence_seconds)
    reply = help_text(store) if keyword == Keyword.HELP else None
    if reply:
        await _record_help_reply(store, contact, msg, reply)
    return InboundResult(False, msg.id, reply)


async def _contact(store: Store, phone: str) -> Contact:
    contact = await Contact.get_or_none(store_id=store.id, phone=phone)
    if contact is None:
        try:
            contact = await Contact.create(store_id=store.id, phone=phone)
        except IntegrityError:  # created by a concurrent delivery
            contact = await Contact.get(store_id=store.id, phone=phone)
    return contact


async def _store(
    store: Store, contact: Contact, sms: InboundSms, key: str, now: datetime
) -> tuple[Message, list[int], Keyword | None]:
    """One transaction: the message, its conversation, any consent change and the domain events."""
    keyword = keyword_of(sms.body)
    async with in_transaction() as conn:
        # Serialise per contact so two texts at once cannot open two conversations.
        await Contact.select_for_update().using_db(conn).get(id=contact.id)
        conv, _ = await services.conversation_for(store.id, contact.id, now, conn)
        msg = await Message.create(
            store_id=store.id,
            contact_id=contact.id,
            checkout_id=conv.checkout_id,  # type: ignore[attr-defined]
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
            using_db=conn,
        )
        await services.record_message(conv, msg, conn)
        outbox_ids = []
        if keyword is not None:
            outbox_ids += await consent.apply_keyword(contact, keyword, sms.body, now, conn)
        else:
            outbox_ids.append(
                await events.record(
                    events.SHOPPER_REPLIED,
                    store.id,
                    msg.id,
                    {
                        "contact_id": contact.id,
                        "checkout_id": conv.checkout_id,  # type: ignore[attr-defined]
                        "conversation_id": conv.id,
                    },
                    using=conn,
                )
            )
    return msg, outbox_ids, keyword


async def _record_help_reply(store: Store, contact: Contact, inbound: Message, text: str) -> None:
    """The HELP answer goes back inside the TwiML response; keep it in the thread too."""
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
    await services.announce_message(msg)

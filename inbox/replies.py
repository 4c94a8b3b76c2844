"""Agent replies over SMS: recorded as `sending` before the provider call, sent at most once per client id."""

from __future__ import annotations

import asyncio
import logging
import re
import weakref
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.accounts.models import Agent
from app.checkouts.models import Contact
from app.config import Settings
from app.core import events
from app.core.errors import ApiError
from app.core.logging import ctx
from app.core.timeutil import utcnow
from app.messaging import providers
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.messaging.segments import count_segments
from app.messaging.senders import OutboundSms, SendError, SmsSender
from app.recovery import rules as recovery_rules
from app.recovery.zones import shopper_zone
from app.stores.models import Store
from inbox import services
from inbox.models import Conversation, ConversationStatus
from inbox.rules import QuietHours, quiet_hours

log = logging.getLogger(__name__)
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_BODY = 1600  # Twilio's limit for one message, however many segments

_senders: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, tuple[object, SmsSender]] = (
    weakref.WeakKeyDictionary()
)


async def _sms_sender(settings: Settings) -> SmsSender:
    """One sender, so one Twilio client and connection pool, per event loop, shared by every reply.

    A change of Twilio settings (tests point them at a fake) replaces it and closes the old one."""
    loop = asyncio.get_running_loop()
    wanted = (settings.twilio, settings.dev_mode)
    found = _senders.get(loop)
    if found is not None and found[0] == wanted:
        return found[1]
    sender = providers.sms_sender(settings)
    _senders[loop] = (wanted, sender)
    if found is not None and (close := getattr(found[1], "close", None)) is not None:
        await close()
    return sender


def _shopper_hours(store: Store, contact: Contact) -> tuple[str, recovery_rules.Window]:
    """The shopper's zone and allowed window, found exactly as the recovery engine finds them."""
    country = contact.country.upper() if contact.country else None
    region = contact.region.upper() if contact.region else None
    zone = shopper_zone(contact.phone, country, region, contact.timezone, store.timezone)
    policy = recovery_rules.policy_from_settings((store.settings or {}).get("recovery"))
    return zone, recovery_rules.window_for(policy, country, region)


def quiet_state(store: Store, contact: Contact, now: datetime | None = None) -> QuietHours:
    zone, window = _shopper_hours(store, contact)
    return quiet_hours(now or utcnow(), zone, window)


def _check(body: str, client_id: str) -> str:
    text = body.strip()
    if not 1 <= len(text) <= MAX_BODY:
        raise ApiError(422, "bad_body", f"a text needs 1 to {MAX_BODY} characters")
    if not CLIENT_ID.match(client_id):
        raise ApiError(422, "bad_client_id", "client_id must be 8-64 letters, digits, - or _")
    return text


def _sendable(store: Store, contact: Contact) -> None:
    if contact.sms_opted_out_at is not None:
        raise ApiError(409, "opted_out", "this shopper replied STOP; texts to them are blocked")
    if not contact.phone:
        raise ApiError(409, "no_phone", "this contact has no phone number")
    if not store.sms_number:
        raise ApiError(409, "no_sms_number", "the store has no SMS number configured")


async def send_reply(
    settings: Settings, agent: Agent, conv_id: int, body: str, client_id: str
) -> tuple[Message, bool]:
    """Returns the message and whether this call sent it (False: a retry of an earlier send)."""
    store_id: int = agent.store_id  # type: ignore[attr-defined]
    text = _check(body, client_id)
    conv = await services.scoped(store_id, conv_id)
    store = await Store.get(id=store_id)
    contact = await Contact.get(id=conv.contact_id, store_id=store_id)  # type: ignore[attr-defined]
    key = f"inbox:{store_id}:{client_id}"
    if existing := await Message.get_or_none(idempotency_key=key, store_id=store_id):
        return existing, False
    _sendable(store, contact)
    msg = await _record(store, contact, conv, agent, text, key)
    if msg is None:  # a double click raced this one and recorded first
        return await Message.get(idempotency_key=key, store_id=store_id), False
    await services.claim_if_unassigned(conv, agent.id)
    await services.announce_message(msg, contact)
    await _deliver(settings, store, msg)
    return msg, True


async def _record(
    store: Store, contact: Contact, conv: Conversation, agent: Agent, text: str, key: str
) -> Message | None:
    """Commit the row as `sending` first: after a crash it reads "unknown", never sent twice blindly."""
    try:
        async with in_transaction() as conn:
            msg = await Message.create(
                store_id=store.id,
                contact_id=contact.id,
                checkout_id=conv.checkout_id,  # type: ignore[attr-defined]
                conversation_id=conv.id,
                channel=Channel.SMS,
                direction=Direction.OUTBOUND,
                author=Author.AGENT,
                agent_id=agent.id,
                to_address=contact.phone or "",
                from_address=store.sms_number,
                body=text,
                segments=count_segments(text).segments,
                status=DeliveryStatus.SENDING,
                idempotency_key=key,
                using_db=conn,
            )
            await services.record_message(conv, msg, conn)
    except IntegrityError:
        return None
    return msg


async def _deliver(settings: Settings, store: Store, msg: Message) -> None:
    sender = await _sms_sender(settings)
    callback = f"{settings.server.public_url}/webhooks/twilio/status"
    try:
        result = await sender.send_sms(
            OutboundSms(
                to=msg.to_address,
                from_=store.sms_number or "",
                body=msg.body,
                status_callback=callback,
            )
        )
    except SendError as exc:
        await Message.filter(id=msg.id, status=DeliveryStatus.SENDING).update(
            status=DeliveryStatus.FAILED, error_code=exc.code, error_message=exc.message[:500]
        )
        log.warning("agent reply failed", extra=ctx(message=msg.id, code=exc.code))
    else:
        await Message.filter(id=msg.id, status=DeliveryStatus.SENDING).update(
            status=result.status,
            provider=result.provider,
            provider_id=result.provider_id,
            segments=result.segments or msg.segments,
            sent_at=utcnow(),
        )
    failed = (await Message.get(id=msg.id)).status == DeliveryStatus.FAILED
    await events.record(
        events.MESSAGE_FAILED if failed else events.MESSAGE_SENT,
        store.id,
        msg.id,
        {"by": "agent"},
        using=None,
    )
    await events.notify(events.MESSAGE_CHANGED, message=await Message.get(id=msg.id))


async def start_conversation(
    settings: Settings,
    agent: Agent,
    contact_id: int,
    body: str,
    client_id: str,
    allow_quiet: bool,
    now: datetime | None = None,
) -> tuple[Message, bool]:
    """Texting first is marketing: it needs recorded consent, no opt-out, and daytime (or a confirmation)."""
    store_id: int = agent.store_id  # type: ignore[attr-defined]
    _check(body, client_id)
    contact = await Contact.get_or_none(id=contact_id, store_id=store_id)
    if contact is None:
        raise ApiError(404, "not_found", f"no contact {contact_id} in this store")
    store = await Store.get(id=store_id)
    _sendable(store, contact)
    if not contact.sms_consent or contact.sms_consent_at is None:
        raise ApiError(409, "no_consent", "no recorded SMS consent: only reply when they text you")
    zone, window = _shopper_hours(store, contact)
    now = now or utcnow()
    quiet = quiet_hours(now, zone, window)
    if quiet.quiet and not allow_quiet:
        start, end = window.bounds(now.astimezone(ZoneInfo(zone)).date())
        raise ApiError(
            409,
            "quiet_hours",
            f"it is {quiet.local_time} for the shopper ({quiet.zone}); texts are allowed "
            f"{start:%H:%M}-{end:%H:%M} their time",
        )
    async with in_transaction() as conn:
        conv, _ = await services.conversation_for(store_id, contact.id, utcnow(), conn, "agent")
    if conv.status != ConversationStatus.OPEN:
        await services.set_status(store_id, conv.id, ConversationStatus.OPEN)
    return await send_reply(settings, agent, conv.id, body, client_id)

"""Agent replies over SMS: recorded as `sending` before the provider call (`app.messaging.outbound`
sends it), at most once per client id."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.accounts.models import Agent
from app.checkouts.models import Contact
from app.config import Settings
from app.core.errors import ApiError
from app.core.timeutil import utcnow
from app.messaging import outbound, providers
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.messaging.segments import count_segments
from app.recovery import rules as recovery_rules
from app.recovery.zones import shopper_zone
from app.stores.models import Store
from inbox import services
from inbox.models import Conversation, ConversationStatus
from inbox.rules import QuietHours, quiet_hours

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_BODY = 1600  # Twilio's limit for one message, however many segments


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
    store_id: int = agent.store_id
    text = _check(body, client_id)
    conv = await services.scoped(store_id, conv_id)
    store = await Store.get(id=store_id)
    contact = await Contact.get(id=conv.contact_id, store_id=store_id)
    key = f"inbox:{store_id}:{client_id}"
    if existing := await Message.get_or_none(idempotency_key=key, store_id=store_id):
        return existing, False
    _sendable(store, contact)
    msg = await _record(store, contact, conv, agent, text, key)
    if msg is None:  # a double click raced this one and recorded first
        return await Message.get(idempotency_key=key, store_id=store_id), False
    await services.claim_if_unassigned(conv, agent.id)
    await _deliver(settings, msg)
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
                checkout_id=conv.checkout_id,
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


async def _deliver(settings: Settings, msg: Message) -> None:
    """Through the one outbound service: its timeout, contact flags and live frames, no retry (the
    agent sees the failure and can send again)."""
    await outbound.send(msg, await providers.shared(settings), settings)


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
    store_id: int = agent.store_id
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

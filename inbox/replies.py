"""Agent replies by SMS or email: recorded as `sending` before the provider call
(`app.messaging.outbound` sends it), at most once per client id.

The channel is chosen per message, defaulting to the one the shopper last wrote on. An email
reply threads under the thread's latest email (`In-Reply-To`, `References`, "Re:" subject) and
carries the store's From, the shopper's reply address and one-click unsubscribe, like recovery."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.accounts.models import Agent
from app.checkouts.models import Contact
from app.config import Settings
from app.core.errors import ApiError
from app.core.timeutil import utcnow
from app.messaging import addresses, outbound, providers
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.messaging.segments import count_segments
from app.recovery import links
from app.recovery import rules as recovery_rules
from app.recovery.zones import shopper_zone
from app.stores.models import Store
from inbox import services
from inbox.chat_rules import MAX_AGENT_BODY
from inbox.models import ChatVisitor, Conversation, ConversationStatus
from inbox.rules import QuietHours, quiet_hours

CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_BODY = 1600  # Twilio's limit for one message, however many segments
MAX_EMAIL_BODY = 20_000
MAX_REFERENCES = 20  # Message-IDs kept in References (the first and the latest ones)


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


LIMITS = {Channel.SMS: MAX_BODY, Channel.EMAIL: MAX_EMAIL_BODY, Channel.CHAT: MAX_AGENT_BODY}
WHAT = {Channel.SMS: "a text", Channel.EMAIL: "an email", Channel.CHAT: "a chat message"}


def _check(body: str, client_id: str, channel: Channel = Channel.SMS) -> str:
    text = body.strip()
    limit = LIMITS[channel]
    if not 1 <= len(text) <= limit:
        what = WHAT[channel]
        raise ApiError(422, "bad_body", f"{what} needs 1 to {limit} characters")
    if not CLIENT_ID.match(client_id):
        raise ApiError(422, "bad_client_id", "client_id must be 8-64 letters, digits, - or _")
    return text


def _sendable(store: Store, contact: Contact, channel: Channel = Channel.SMS) -> None:
    if channel == Channel.CHAT:
        return  # the visitor to answer is found when the row is recorded (`_chat_visitor`)
    if channel == Channel.EMAIL:
        return _emailable(contact)
    if contact.sms_opted_out_at is not None:
        raise ApiError(409, "opted_out", "this shopper replied STOP; texts to them are blocked")
    if not contact.phone:
        raise ApiError(409, "no_phone", "this contact has no phone number")
    if not store.sms_number:
        raise ApiError(409, "no_sms_number", "the store has no SMS number configured")


def _emailable(contact: Contact) -> None:
    if not contact.email:
        raise ApiError(409, "no_email", "this contact has no email address")
    if contact.email_opted_out_at is not None:
        raise ApiError(409, "opted_out", "this shopper unsubscribed from email")
    if contact.email_undeliverable_at is not None:
        raise ApiError(409, "undeliverable", "email to this address bounced; it is blocked")


def parse_channel(value: str | None) -> Channel | None:
    if value in (None, ""):
        return None
    try:
        return Channel(str(value))
    except ValueError:
        raise ApiError(422, "bad_channel", "channel must be sms, email or chat") from None


async def default_channel(store: Store, contact: Contact, conv_id: int) -> Channel:
    """The channel the shopper last wrote on; else SMS when it can be used, else email."""
    last = (
        await Message.filter(
            store_id=store.id, conversation_id=conv_id, direction=Direction.INBOUND
        )
        .order_by("-id")
        .only("id", "channel")
        .first()
    )
    if last is not None and last.channel == Channel.CHAT:
        return await _after_chat(store, contact)
    if last is not None:
        return Channel(last.channel)
    if contact.phone and store.sms_number:
        return Channel.SMS
    return Channel.EMAIL if contact.email else Channel.SMS


async def send_reply(
    settings: Settings,
    agent: Agent,
    conv_id: int,
    body: str,
    client_id: str,
    channel: str | None = None,
) -> tuple[Message, bool]:
    """Returns the message and whether this call sent it (False: a retry of an earlier send)."""
    store_id: int = agent.store_id
    chosen = parse_channel(channel)
    conv = await services.scoped(store_id, conv_id)
    store = await Store.get(id=store_id)
    contact = await Contact.get(id=conv.contact_id, store_id=store_id)
    chosen = chosen or await default_channel(store, contact, conv.id)
    text = _check(body, client_id, chosen)
    key = f"inbox:{store_id}:{client_id}"
    if existing := await Message.get_or_none(idempotency_key=key, store_id=store_id):
        return existing, False
    _sendable(store, contact, chosen)
    thread = await _email_thread(store, contact) if chosen == Channel.EMAIL else None
    visitor = await _chat_visitor(store, contact) if chosen == Channel.CHAT else None
    msg = await _record(settings, store, contact, conv, agent, text, key, thread, visitor)
    if msg is None:  # a double click raced this one and recorded first
        return await Message.get(idempotency_key=key, store_id=store_id), False
    await services.claim_if_unassigned(conv, agent.id)
    await _deliver(settings, msg, store, contact, thread)
    return msg, True


# --- Live chat (issue 16 point 3) ---------------------------------------------------------------


async def _chat_visitor(store: Store, contact: Contact) -> ChatVisitor:
    """The browser this shopper last chatted from: the reply goes to its widget (or waits there)."""
    visitor = (
        await ChatVisitor.filter(store_id=store.id, contact_id=contact.id)
        .order_by("-last_seen_at", "-id")
        .first()
    )
    if visitor is None:
        raise ApiError(409, "no_chat", "this shopper has not chatted on the store's site")
    return visitor


async def _after_chat(store: Store, contact: Contact) -> Channel:
    """Chat, unless the shopper asked (outside business hours) to be answered by SMS or email."""
    visitor = (
        await ChatVisitor.filter(store_id=store.id, contact_id=contact.id)
        .order_by("-last_seen_at", "-id")
        .first()
    )
    wanted = visitor.continue_by if visitor is not None else None
    if wanted == Channel.SMS and contact.phone and store.sms_number:
        return Channel.SMS
    if wanted == Channel.EMAIL and contact.email:
        return Channel.EMAIL
    return Channel.CHAT


@dataclass(frozen=True, slots=True)
class EmailThread:
    """What an emailed reply threads under: its subject and the parent's ids."""

    subject: str
    in_reply_to: str | None
    references: str | None


async def _email_thread(store: Store, contact: Contact) -> EmailThread:
    """The latest email with this shopper, either way (a recovery email counts too)."""
    parent = (
        await Message.filter(
            store_id=store.id,
            contact_id=contact.id,
            channel=Channel.EMAIL,
            email_headers__not_isnull=True,
        )
        .exclude(status__in=(DeliveryStatus.FAILED, DeliveryStatus.CANCELLED))
        .order_by("-id")
        .first()
    )
    if parent is None:
        return EmailThread(f"A message from {store.name}", None, None)
    headers = parent.email_headers or {}
    parent_id = headers.get("Message-ID") or None
    return EmailThread(
        reply_subject(parent.subject or f"A message from {store.name}"),
        parent_id,
        references(headers.get("References"), parent_id),
    )


def reply_subject(subject: str) -> str:
    """`Re: ` once, however many `Re:`/`RE:`/`Aw:` the parent had."""
    bare = re.sub(r"^\s*((re|aw|sv|fwd?)\s*:\s*)+", "", subject, flags=re.IGNORECASE).strip()
    return ("Re: " + bare)[:998]


def references(parent_references: str | None, parent_id: str | None) -> str | None:
    """RFC 5322: the parent's References (or its In-Reply-To) plus the parent's Message-ID;
    long chains keep their first id and the latest ones."""
    ids = re.findall(r"<[^<>\s]+>", parent_references or "")
    if parent_id:
        ids.append(parent_id)
    if len(ids) > MAX_REFERENCES:
        ids = [ids[0], *ids[-(MAX_REFERENCES - 1) :]]
    return " ".join(ids) or None


async def _record(
    settings: Settings,
    store: Store,
    contact: Contact,
    conv: Conversation,
    agent: Agent,
    text: str,
    key: str,
    thread: EmailThread | None,
    visitor: ChatVisitor | None = None,
) -> Message | None:
    """Commit the row as `sending` first: after a crash it reads "unknown", never sent twice blindly."""
    if visitor is not None:
        channel_fields: dict[str, Any] = {
            "channel": Channel.CHAT,
            "to_address": visitor.key,
            "from_address": "chat",
        }
    elif thread is None:
        channel_fields = {
            "channel": Channel.SMS,
            "to_address": contact.phone or "",
            "from_address": store.sms_number,
            "segments": count_segments(text).segments,
        }
    else:
        channel_fields = {
            "channel": Channel.EMAIL,
            "to_address": contact.email or "",
            "from_address": addresses.email_from(store, settings),
            "subject": thread.subject,
        }
    try:
        async with in_transaction() as conn:
            msg = await Message.create(
                store_id=store.id,
                contact_id=contact.id,
                checkout_id=conv.checkout_id,
                conversation_id=conv.id,
                direction=Direction.OUTBOUND,
                author=Author.AGENT,
                agent_id=agent.id,
                body=text,
                status=DeliveryStatus.SENDING,
                idempotency_key=key,
                using_db=conn,
                **channel_fields,
            )
            await services.record_message(conv, msg, conn)
    except IntegrityError:
        return None
    return msg


def _email(store: Store, contact: Contact, thread: EmailThread) -> outbound.Email:
    """Threading headers, one-click unsubscribe and the store's Reply-To (`outbound` puts the
    shopper's reply address there instead when reply addresses are on)."""
    unsubscribe = links.unsubscribe_url(contact.id)
    headers = {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    if thread.in_reply_to:
        headers["In-Reply-To"] = thread.in_reply_to
    if thread.references:
        headers["References"] = thread.references
    return outbound.Email(headers=headers, reply_to=addresses.store_reply_to(store))


async def _deliver(
    settings: Settings, msg: Message, store: Store, contact: Contact, thread: EmailThread | None
) -> None:
    """Through the one outbound service: its timeout, contact flags and live frames, no retry (the
    agent sees the failure and can send again)."""
    email = _email(store, contact, thread) if thread is not None else None
    await outbound.send(msg, await providers.shared(settings), settings, email=email)


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

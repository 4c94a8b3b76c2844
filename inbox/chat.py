"""Live chat on the store's site, as a recipe: verify the visitor, set the contact, set the
conversation, store the message, announce it to agents. Agents answer through the one outbound
service (`app.messaging.chat` delivers to the visitor's socket).

Tenancy: the store and the visitor come only from the signed visitor token; a widget sees only
the messages it sent and the agent messages addressed to it (`from_address`/`to_address` = its
key), never the rest of the contact's thread, even when it joined that thread by an email."""

from __future__ import annotations

import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from app.checkouts.models import Contact
from app.core import events
from app.core.logging import ctx
from app.core.phones import parse_phone
from app.core.scheduling import dispatch_soon
from app.core.security import sign_value
from app.core.timeutil import utcnow
from app.messaging import outbound
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.recovery import links
from app.stores.models import Store
from app.visitors import services as visitors
from inbox import chat_rules, services
from inbox.models import ChatVisitor, Conversation, ConversationStatus

log = logging.getLogger(__name__)

VISITOR = "chat-visitor"
EMAIL = re.compile(r"^[^\s@]+@[^\s@]+\.[^\s@]{2,}$")
HISTORY = 100  # messages the widget gets back on (re)connect


def visitor_token(store_id: int, key: str) -> str:
    value = f"{store_id:x}.{key}"
    return f"{value}.{sign_value(value, VISITOR)}"


def read_visitor_token(token: str | None) -> tuple[int, str] | None:
    """(store id, visitor key) of a token we signed, else None (forged, edited or malformed)."""
    if not token or len(token) > 96 or token.count(".") != 2:
        return None
    store_hex, key, signature = token.split(".")
    value = f"{store_hex}.{key}"
    if not hmac.compare_digest(sign_value(value, VISITOR), signature):
        return None
    if not chat_rules.VISITOR_KEY.match(key):
        return None
    try:
        return int(store_hex, 16), key
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Session:
    visitor: ChatVisitor
    token: str


async def open_session(
    store: Store, token: str | None, link: str | None, anonymous_id: str | None
) -> Session:
    """The visitor this browser already is (its token, for this store), else a new one; a chat
    link attaches it to the emailed shopper's thread, the snippet's identity to its contact."""
    found = read_visitor_token(token)
    visitor = None
    if found is not None and found[0] == store.id:
        visitor = await ChatVisitor.get_or_none(store_id=store.id, key=found[1])
    linked = links.read_chat_token(link, store.id)
    if linked is not None and not await Contact.exists(id=linked, store_id=store.id):
        linked = None
    if visitor is None:
        known = linked or await visitors.contact_for(store.id, (anonymous_id or "")[:128], None)
        visitor = await ChatVisitor.create(
            store_id=store.id, key=secrets.token_hex(16), contact_id=known
        )
    elif linked is not None and linked != visitor.contact_id:
        await _join(store.id, visitor, linked)
    return Session(visitor, visitor_token(store.id, visitor.key))


def _own(visitor: ChatVisitor) -> Q:
    """The visitor's own chat messages: those it sent and those sent to it."""
    mine = Q(from_address=visitor.key) | Q(to_address=visitor.key)
    return Q(mine, store_id=visitor.store_id, channel=Channel.CHAT)


def shopper_frame(msg: Message) -> dict[str, Any]:
    """A message as the widget sees it: text, who, when; nothing else about the thread."""
    author = "you" if msg.direction == Direction.INBOUND else "agent"
    return {"type": "message", "id": msg.id, "author": author, "body": msg.body, "at": _iso(msg)}


def _iso(msg: Message) -> str:
    return (msg.created_at or utcnow()).isoformat()


async def history(visitor: ChatVisitor) -> list[dict[str, Any]]:
    rows = await Message.filter(_own(visitor)).order_by("-id").limit(HISTORY)
    return [shopper_frame(m) for m in reversed(rows)]


async def deliver_waiting(visitor: ChatVisitor, now: datetime) -> list[int]:
    """Agent messages kept while the shopper was away are now on screen: `delivered`."""
    rows = await Message.filter(
        store_id=visitor.store_id,
        channel=Channel.CHAT,
        to_address=visitor.key,
        status=DeliveryStatus.QUEUED,
    ).only("id")
    waiting = [m.id for m in rows]
    for message_id in waiting:
        changed = await Message.filter(id=message_id, status=DeliveryStatus.QUEUED).update(
            status=DeliveryStatus.DELIVERED, delivered_at=now, updated_at=now
        )
        if changed:
            await outbound.announce_changed(message_id)
    await ChatVisitor.filter(id=visitor.id).update(last_seen_at=now)
    return waiting


@dataclass(frozen=True, slots=True)
class Received:
    message: Message
    conversation: Conversation
    contact: Contact
    duplicate: bool


async def receive(visitor: ChatVisitor, text: str, client_id: str, now: datetime) -> Received:
    """Store one shopper message exactly once (its client id is the key), then tell agents."""
    key = f"chat:{visitor.store_id}:{visitor.key}:{client_id}"
    try:
        saved = await _store(visitor, text, key, now)
    except IntegrityError:  # the widget resent a message we already have
        msg = await Message.get(idempotency_key=key, store_id=visitor.store_id)
        conv = await Conversation.get(id=msg.conversation_id, store_id=visitor.store_id)
        contact = await Contact.get(id=conv.contact_id, store_id=visitor.store_id)
        return Received(msg, conv, contact, True)
    msg, conv, contact, outbox_id = saved
    await events.notify(events.MESSAGE_CHANGED, message=msg, conversation=conv, contact=contact)
    await dispatch_soon(outbox_id)
    log.info("inbound chat", extra=ctx(store=visitor.store_id, message=msg.id))
    return Received(msg, conv, contact, False)


async def _store(
    visitor: ChatVisitor, text: str, key: str, now: datetime
) -> tuple[Message, Conversation, Contact, int]:
    store_id = visitor.store_id
    async with in_transaction() as conn:
        contact = await _contact_of(visitor, conn)
        conv, _ = await services.conversation_for(store_id, contact.id, now, conn)
        msg = await Message.create(
            store_id=store_id,
            contact_id=contact.id,
            checkout_id=conv.checkout_id,
            conversation_id=conv.id,
            channel=Channel.CHAT,
            direction=Direction.INBOUND,
            author=Author.SHOPPER,
            to_address="chat",
            from_address=visitor.key,
            body=text,
            status=DeliveryStatus.RECEIVED,
            provider="chat",
            idempotency_key=key,
            using_db=conn,
        )
        await services.record_message(conv, msg, conn)
        payload = {
            "contact_id": contact.id,
            "checkout_id": conv.checkout_id,
            "conversation_id": conv.id,
        }
        outbox_id = await events.record(
            events.SHOPPER_REPLIED, store_id, msg.id, payload, using=conn
        )
    return msg, conv, contact, outbox_id


async def _contact_of(visitor: ChatVisitor, conn: Any) -> Contact:
    """The visitor's contact; a first message from an unknown browser makes an anonymous one."""
    if visitor.contact_id is not None:
        found = await Contact.get_or_none(id=visitor.contact_id, store_id=visitor.store_id)
        if found is not None:
            return found
    contact = await Contact.create(store_id=visitor.store_id, using_db=conn)
    await ChatVisitor.filter(id=visitor.id).using_db(conn).update(contact_id=contact.id)
    visitor.contact_id = contact.id
    return contact


class ChatInputError(ValueError):
    """The shopper typed something we cannot use; the message says what, in words."""


def contact_details(email: Any, phone: Any, region: str | None) -> tuple[str | None, str | None]:
    """A valid email and/or an E.164 phone from what the shopper typed; at least one."""
    mail = str(email or "").strip().lower()[:320] or None
    if mail is not None and not EMAIL.match(mail):
        raise ChatInputError("That email address does not look right.")
    number = None
    if phone:
        parsed = parse_phone(str(phone)[:32], region)
        if parsed.e164 is None:
            raise ChatInputError("That phone number does not look right.")
        number = parsed.e164
    if mail is None and number is None:
        raise ChatInputError("Give an email address or a phone number.")
    return mail, number


async def identify(
    store: Store,
    visitor: ChatVisitor,
    email: str | None,
    phone: str | None,
    continue_by: str | None,
) -> None:
    """The chat joins the thread of the contact with this email or phone (one is made when none
    exists); what the visitor wrote so far moves along. Nothing of that thread is shown back."""
    existing = await Contact.filter(
        Q(email=email) if email else Q(phone=phone), store_id=store.id
    ).first()
    if existing is None:
        existing = await _new_or_fill(store.id, visitor, email, phone)
    if existing.id != visitor.contact_id:
        await _join(store.id, visitor, existing.id)
    if continue_by in ("sms", "email"):
        await ChatVisitor.filter(id=visitor.id).update(continue_by=continue_by)
        visitor.continue_by = continue_by


async def _new_or_fill(
    store_id: int, visitor: ChatVisitor, email: str | None, phone: str | None
) -> Contact:
    """Give the visitor's anonymous contact its details, or make a contact with them."""
    details: dict[str, Any] = {k: v for k, v in (("email", email), ("phone", phone)) if v}
    current = None
    if visitor.contact_id is not None:
        current = await Contact.get_or_none(id=visitor.contact_id, store_id=store_id)
    if current is not None and not current.email and not current.phone:
        await Contact.filter(id=current.id).update(**details)
        return await Contact.get(id=current.id)
    try:
        return await Contact.create(store_id=store_id, **details)
    except IntegrityError:  # the same details arrived at once from elsewhere
        return await Contact.get(Q(**details, join_type="OR"), store_id=store_id)


async def _join(store_id: int, visitor: ChatVisitor, contact_id: int) -> None:
    """Point the visitor at `contact_id` and move its own messages into that contact's thread."""
    now, conv_id = utcnow(), None
    async with in_transaction() as conn:
        mine = await Message.filter(_own(visitor)).using_db(conn).only("id", "conversation_id")
        if mine:
            conv, _ = await services.conversation_for(store_id, contact_id, now, conn)
            conv_id = conv.id
            await (
                Message.filter(id__in=[m.id for m in mine])
                .using_db(conn)
                .update(contact_id=contact_id, conversation_id=conv_id)
            )
        await ChatVisitor.filter(id=visitor.id).using_db(conn).update(contact_id=contact_id)
    visitor.contact_id = contact_id
    for old in {m.conversation_id for m in mine} - {conv_id, None}:
        await _drop_if_empty(store_id, old)
    if conv_id is not None:
        await services.announce(conv_id)


async def _drop_if_empty(store_id: int, conv_id: int) -> None:
    """An anonymous chat's thread whose messages all moved away is closed, not left open empty."""
    if await Message.exists(store_id=store_id, conversation_id=conv_id):
        return
    await services.set_status(store_id, conv_id, ConversationStatus.CLOSED)

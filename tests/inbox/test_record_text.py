"""`services.record_text` writes exactly what the ORM's three writes do.

On PostgreSQL it is one statement of data-modifying CTEs; elsewhere it is the ORM itself. Each
case writes one text through it and the same text through `Message.save`, `record_message` and
`events.record` into a twin thread, then compares every column of the message, the thread and
the outbox event (ids, the thread's own links and times aside), and the models in memory that
build the live frame.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.checkouts.models import Contact
from app.core import events
from app.core.outbox import OutboxEvent
from app.core.timeutil import utcnow
from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message
from app.stores.models import Store
from inbox import services
from inbox.models import Conversation
from tests.inbox.conftest import store_with_number

OWN = {"id", "contact_id", "conversation_id", "idempotency_key", "provider_id", "from_address"}
TIMES = {"created_at", "updated_at", "last_message_at", "opened_at", "waiting_since"}
CLOCK = ("response_started_at", "response_channel", "response_due_at", "responded_at")


def _text(store: Store, contact: Contact, conv: Conversation, sid: str, body: str) -> Message:
    return Message(
        store_id=store.id,
        contact_id=contact.id,
        checkout_id=conv.checkout_id,
        conversation_id=conv.id,
        channel=Channel.SMS,
        direction=Direction.INBOUND,
        author=Author.SHOPPER,
        to_address=store.sms_number,
        from_address=contact.phone,
        body=body,
        media_urls=["https://media.example/1.jpg"] if not body else [],
        segments=1,
        status=DeliveryStatus.RECEIVED,
        provider="twilio",
        provider_id=sid,
        idempotency_key=f"twilio-in:{sid}",
    )


def _payload(contact: Contact, conv: Conversation) -> dict[str, Any]:
    return {"contact_id": contact.id, "checkout_id": conv.checkout_id, "conversation_id": conv.id}


async def _twins(store: Store, **thread: Any) -> list[tuple[Contact, Conversation]]:
    pairs = []
    for phone in ("+14155550181", "+14155550182"):
        contact = await Contact.create(store=store, phone=phone)
        conv = await Conversation.create(store=store, contact=contact, **thread)
        pairs.append((contact, conv))
    return pairs


async def _orm(store: Store, contact: Contact, conv: Conversation, msg: Message) -> int:
    async with in_transaction() as conn:
        await msg.save(using_db=conn, force_create=True)
        await services.record_message(conv, msg, conn, store)
        payload = _payload(contact, conv)
        return await events.record(events.SHOPPER_REPLIED, store.id, msg.id, payload, using=conn)


async def _statement(store: Store, contact: Contact, conv: Conversation, msg: Message) -> int:
    async with in_transaction() as conn:
        payload = _payload(contact, conv)
        return await services.record_text(conv, msg, conn, store, events.SHOPPER_REPLIED, payload)


def _columns(row: Any, skip: set[str]) -> dict[str, Any]:
    return {k: v for k, v in dict(row).items() if k not in skip}


async def _rows(msg_id: int, conv_id: int, event_id: int) -> tuple[dict, dict, dict]:
    message = (await Message.filter(id=msg_id).values())[0]
    thread = (await Conversation.filter(id=conv_id).values())[0]
    event = (await OutboxEvent.filter(id=event_id).values())[0]
    return message, thread, event


@pytest.mark.parametrize(
    ("body", "clock"),
    [
        ("Is the sage one in stock?", None),  # the first unanswered text starts the clock
        ("", None),  # media only: the preview says so
        ("  still   there?\n", "running"),  # the clock is already running: it stays
        ("one more thing", "answered"),  # answered in this opening: nothing starts
    ],
)
async def test_one_statement_writes_what_the_orm_writes(client, body: str, clock: str | None):
    store = await store_with_number()
    earlier = utcnow() - timedelta(minutes=3)
    thread: dict[str, Any] = {
        "inbound_count": 2,
        "last_message_id": 7,
        "opened_at": earlier,
        "waiting_since": earlier,
    }
    if clock:
        thread |= {
            "response_started_at": earlier,
            "response_channel": "sms",
            "response_due_at": earlier + timedelta(minutes=5),
        }
    if clock == "answered":
        thread["responded_at"] = earlier + timedelta(minutes=1)
    (c1, orm_conv), (c2, one_conv) = await _twins(store, **thread)
    orm_msg = _text(store, c1, orm_conv, "SM" + "a" * 32, body)
    one_msg = _text(store, c2, one_conv, "SM" + "b" * 32, body)
    orm_event = await _orm(store, c1, orm_conv, orm_msg)
    one_event = await _statement(store, c2, one_conv, one_msg)

    orm_rows = await _rows(orm_msg.id, orm_conv.id, orm_event)
    one_rows = await _rows(one_msg.id, one_conv.id, one_event)
    thread_own = OWN | TIMES | set(CLOCK) | {"last_message_id"}
    assert _columns(one_rows[0], OWN | TIMES) == _columns(orm_rows[0], OWN | TIMES)
    assert _columns(one_rows[1], thread_own) == _columns(orm_rows[1], thread_own)
    event_own = {"id", "subject_id", "dedupe_key", "payload", "created_at"}
    assert _columns(one_rows[2], event_own) == _columns(orm_rows[2], event_own)

    message, thread_row, event = one_rows
    assert message["created_at"] == one_msg.created_at == thread_row["last_message_at"]
    assert message["updated_at"] is not None and one_msg.id == message["id"]
    assert thread_row["last_message_id"] == one_msg.id and thread_row["inbound_count"] == 3
    assert event["subject_id"] == one_msg.id
    assert event["dedupe_key"] == events.dedupe_key(events.SHOPPER_REPLIED, store.id, one_msg.id)
    assert event["payload"] == _payload(c2, one_conv)
    for row, msg in ((thread_row, one_msg), (orm_rows[1], orm_msg)):
        started = row["response_started_at"]
        if clock is None:  # started by this text, counted from when it arrived
            assert started == msg.created_at and row["response_channel"] == "sms"
            assert row["response_due_at"] - started == timedelta(minutes=5)
        else:
            assert started == earlier
    # what the live frame is built from: the models in memory agree with their rows
    for conv in (one_conv, orm_conv):
        stored = await Conversation.get(id=conv.id)
        for name in ("last_message_at", "last_message_preview", "last_message_id", *CLOCK):
            assert getattr(conv, name) == getattr(stored, name), name
        assert conv.inbound_count == stored.inbound_count == 3
    assert one_msg._saved_in_db and one_msg.created_at is not None


async def test_a_repeated_message_sid_keeps_nothing_of_the_second_text(client):
    store = await store_with_number()
    (contact, conv), _ = await _twins(store, opened_at=utcnow(), waiting_since=utcnow())
    await _statement(store, contact, conv, _text(store, contact, conv, "SM" + "c" * 32, "hi"))
    again = _text(store, contact, conv, "SM" + "c" * 32, "hi")
    with pytest.raises(IntegrityError):
        await _statement(store, contact, conv, again)
    assert await Message.filter(conversation_id=conv.id).count() == 1
    assert await OutboxEvent.filter(name=events.SHOPPER_REPLIED).count() == 1
    assert (await Conversation.get(id=conv.id)).inbound_count == 1


async def test_an_unknown_event_name_is_refused_before_anything_is_written(client):
    """Both writers refuse a name the catalogue lacks, and the text leaves no row behind."""
    store = await store_with_number()
    (contact, conv), _ = await _twins(store, opened_at=utcnow(), waiting_since=utcnow())
    msg = _text(store, contact, conv, "SM" + "d" * 32, "hi")
    with pytest.raises(ValueError, match=r"unknown domain event 'shopper\.waved'"):
        async with in_transaction() as conn:
            await services.record_text(conv, msg, conn, store, "shopper.waved", {})
    with pytest.raises(ValueError, match="unknown domain event"):
        async with in_transaction() as conn:
            await events.record("shopper.waved", store.id, 1, {}, using=conn)
    assert await Message.filter(conversation_id=conv.id).count() == 0
    assert await OutboxEvent.filter(store_id=store.id).count() == 0
    assert (await Conversation.get(id=conv.id)).inbound_count == 0

"""A compiled read answers exactly as the queryset it replaces, on either database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.checkouts.models import Checkout, CheckoutStatus, Contact
from app.core.compiled import CompiledSelect, insert_many
from app.core.timeutil import utcnow
from app.messaging.models import Message
from inbox import services
from inbox.models import Conversation, ConversationStatus
from tests.factories import make_store


def _fields(model: Any) -> dict[str, Any]:
    return {name: getattr(model, name) for name in model._meta.fields_db_projection}


async def _threads() -> tuple[int, int]:
    now = utcnow()
    one = (await make_store("custom", domain="one.example.com")).store
    two = (await make_store("custom", domain="two.example.com")).store
    agent = (await create_agent(one, "ana@one.example.com", Role.AGENT, name="Ana")).agent
    shopper = await Contact.create(store_id=one.id, phone="+14155550101", first_name="Lee")
    await Contact.create(store_id=one.id, phone="+14155550102")  # a number with no thread
    other = await Contact.create(store_id=two.id, phone="+14155550101")  # same number, store two
    await Conversation.create(
        store_id=one.id,
        contact_id=shopper.id,
        status=ConversationStatus.CLOSED,
        opened_at=now - timedelta(days=3),
        closed_at=now - timedelta(days=2),
    )
    await Checkout.create(
        store_id=one.id,
        contact_id=shopper.id,
        platform="custom",
        token="t-1",
        status=CheckoutStatus.ABANDONED,
        last_activity_at=now,
        total=42,
    )
    await Conversation.create(
        store_id=one.id,
        contact_id=shopper.id,
        assignee_id=agent.id,
        opened_at=now,
        waiting_since=now,
        last_message_preview="hi",
    )
    await Conversation.create(store_id=two.id, contact_id=other.id, opened_at=now)
    return one.id, two.id


async def test_the_locked_thread_read_matches_the_orm_query(settings) -> None:
    one, two = await _threads()
    cases = [(one, "+14155550101"), (one, "+14155550102"), (two, "+14155550101"), (one, "+1")]
    async with in_transaction() as conn:
        for store_id, phone in cases:
            expected = await services._thread_of_phone_query(store_id, phone).using_db(conn).first()
            got = await services._THREAD_OF_PHONE.first(conn, store_id, phone)
            if expected is None:
                assert got is None, (store_id, phone)
                continue
            assert got is not None
            assert _fields(got) == _fields(expected)
            assert _fields(got.contact) == _fields(expected.contact)
            assert got.live_checkout_id == expected.live_checkout_id
            assert got.assignee_name == expected.assignee_name
        first = await services._THREAD_OF_PHONE.first(conn, one, "+14155550101")
    assert first is not None and first.assignee_name == "Ana" and first.live_checkout_id
    assert first.contact.first_name == "Lee"


async def test_a_shape_that_does_not_bind_its_placeholder_is_refused(settings) -> None:
    inlined = CompiledSelect(lambda n: Contact.filter(store_id=1).limit(n), 987_654)
    async with in_transaction() as conn:
        with pytest.raises(ValueError, match="is not one bound parameter"):
            await inlined.first(conn, 5)


def _message(store_id: int, key: str, **extra: Any) -> Message:
    return Message(
        store_id=store_id,
        channel="email",
        direction="outbound",
        author="automation",
        to_address="lee@example.com",
        subject=f"Your cart {key}",
        body=f"Body {key}",
        status="sending",
        idempotency_key=key,
        **extra,
    )


async def test_insert_many_writes_each_row_as_create_would_and_gives_each_its_id(settings) -> None:
    store = (await make_store("custom")).store
    twin = _message(store.id, "twin")
    await twin.save()
    batch = [_message(store.id, f"k{n}", segments=n + 1) for n in range(3)]
    async with in_transaction() as conn:
        await insert_many(conn, batch)
    assert all(m._saved_in_db for m in batch)
    for message in batch:  # each instance got the id of its own row
        stored = await Message.get(id=message.id)
        assert stored.idempotency_key == message.idempotency_key
        assert stored.segments == message.segments
        assert message.created_at is not None and stored.created_at == message.created_at
    mine = _fields(await Message.get(id=batch[0].id))
    theirs = _fields(await Message.get(id=twin.id))
    differ = {k for k in mine if mine[k] != theirs[k]}
    assert differ <= {
        "id",
        "idempotency_key",
        "subject",
        "body",
        "segments",
        "created_at",
        "updated_at",
    }
    assert {"id", "idempotency_key", "subject", "body"} <= differ


async def test_insert_many_writes_none_of_the_rows_when_one_is_refused(settings) -> None:
    store = (await make_store("custom")).store
    await _message(store.id, "taken").save()
    with pytest.raises(IntegrityError):
        async with in_transaction() as conn:
            await insert_many(conn, [_message(store.id, "fresh"), _message(store.id, "taken")])
    assert not await Message.filter(idempotency_key="fresh").exists()
    with pytest.raises(ValueError, match="one model"):
        await insert_many(None, [_message(store.id, "a"), Contact(store_id=store.id)])

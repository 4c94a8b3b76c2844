"""A compiled read answers exactly as the queryset it replaces, on either database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from tortoise.transactions import in_transaction

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.checkouts.models import Checkout, CheckoutStatus, Contact
from app.core.compiled import CompiledSelect
from app.core.timeutil import utcnow
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

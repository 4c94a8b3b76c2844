"""Texting first follows the recovery engine's hours: state law included, the store's policy applied."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.checkouts.models import Contact
from app.core.errors import ApiError
from app.core.timeutil import utcnow
from app.stores.models import Store
from inbox import replies
from inbox.models import Conversation
from inbox.rules import QuietHours
from tests.inbox.conftest import agent_session, store_with_number

# 20:30 in Miami and New York (EDT), a Wednesday.
EVENING = datetime(2026, 7, 16, 0, 30, tzinfo=UTC)


async def _store_open_until_nine() -> Store:
    """The store allows 08:00-21:00, so only Florida's 20:00 law can make 20:30 quiet."""
    store = await store_with_number()
    store.settings = {"recovery": {"quiet_start": "08:00", "quiet_end": "21:00"}}
    await store.save(update_fields=["settings"])
    return store


async def _consenting(store: Store, phone: str, region: str) -> Contact:
    return await Contact.create(
        store=store,
        phone=phone,
        country="US",
        region=region,
        sms_consent=True,
        sms_consent_at=utcnow(),
    )


async def test_florida_evening_is_quiet_but_new_york_is_not(settings):
    store = await _store_open_until_nine()
    florida = await _consenting(store, "+13055550142", "FL")
    new_york = await _consenting(store, "+12125550142", "NY")
    assert replies.quiet_state(store, florida, EVENING) == QuietHours(
        True, "20:30", "America/New_York"
    )
    assert replies.quiet_state(store, new_york, EVENING).quiet is False


async def test_texting_a_florida_shopper_at_half_past_eight_needs_confirmation(
    redis, inbox_settings, fake_twilio
):
    store = await _store_open_until_nine()
    agent, _, _ = await agent_session(redis, store, "nia@shop.example")
    florida = await _consenting(store, "+13055550142", "FL")
    with pytest.raises(ApiError) as refused:
        await replies.start_conversation(
            inbox_settings, agent, florida.id, "Your cart is saved", "c-0101-abcdef", False, EVENING
        )
    assert refused.value.status_code == 409 and refused.value.code == "quiet_hours"
    assert "20:30" in refused.value.detail and "08:00-20:00" in refused.value.detail
    assert fake_twilio.sent == [] and not await Conversation.exists(contact_id=florida.id)
    _, sent = await replies.start_conversation(
        inbox_settings, agent, florida.id, "Your cart is saved", "c-0102-abcdef", True, EVENING
    )
    assert sent and fake_twilio.sent[0]["to"] == "+13055550142"

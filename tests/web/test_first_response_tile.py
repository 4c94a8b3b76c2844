"""The dashboard's first-response tile: median, p90 and share within target, per channel, with
threads still waiting past their target counted as missed; the channel filter keeps one row."""

from __future__ import annotations

from datetime import timedelta

from app.accounts.models import Role
from app.checkouts.models import Contact
from app.core.timeutil import utcnow
from inbox.models import Conversation, FirstResponse
from tests.factories import make_store
from tests.web.conftest import login_as


async def _answered(store_id: int, contact_id: int, channel: str, seconds: int, target: int):
    asked = utcnow() - timedelta(hours=2)
    conv = await Conversation.create(
        store_id=store_id,
        contact_id=contact_id,
        opened_at=asked,
        response_started_at=asked,
        response_channel=channel,
        response_due_at=asked + timedelta(seconds=target),
        responded_at=asked + timedelta(seconds=seconds),
    )
    await FirstResponse.create(
        store_id=store_id,
        conversation_id=conv.id,
        channel=channel,
        asked_at=asked,
        answered_at=asked + timedelta(seconds=seconds),
        seconds=seconds,
        target_seconds=target,
    )


async def test_tile_shows_median_p90_and_share_within_target_per_channel(client):
    issued = await make_store("shopify")
    store = issued.store
    contact = await Contact.create(store_id=store.id, email="a@example.com")
    for seconds in (5, 20, 60):
        await _answered(store.id, contact.id, "chat", seconds, 10)
    for seconds in (100, 400):
        await _answered(store.id, contact.id, "sms", seconds, 300)
    asked = utcnow() - timedelta(hours=1)
    await Conversation.create(  # still waiting, past its 5 minutes
        store_id=store.id,
        contact_id=contact.id,
        opened_at=asked,
        response_started_at=asked,
        response_channel="sms",
        response_due_at=asked + timedelta(minutes=5),
    )
    await Conversation.create(  # still waiting, not yet due: not a miss
        store_id=store.id,
        contact_id=contact.id,
        opened_at=utcnow(),
        response_started_at=utcnow(),
        response_channel="email",
        response_due_at=utcnow() + timedelta(minutes=5),
    )
    other = await make_store("shopify", domain="other-shop.myshopify.com")
    other_contact = await Contact.create(store_id=other.store.id, email="b@example.com")
    await _answered(other.store.id, other_contact.id, "chat", 9999, 10)  # never counted here

    await login_as(client, store, Role.OWNER)
    page = (await client.get("/dashboard")).text
    assert 'data-testid="first-response"' in page
    assert 'data-testid="frt-median">1 min<' in page  # 5, 20, 60, 100, 400 s
    assert 'data-testid="frt-p90">6 min 40 s<' in page
    assert 'data-testid="frt-within">33%<' in page  # 2 of 5 answered + 1 late
    assert '<td>Live chat</td><td class="num">10 s</td><td class="num">20 s</td>' in page
    assert '<td>SMS</td><td class="num">5 min</td>' in page
    sms_only = (await client.get("/dashboard?channel=sms")).text
    assert "<td>Live chat</td>" not in sms_only
    assert 'data-testid="frt-median">1 min 40 s<' in sms_only  # 100, 400
    assert 'data-testid="frt-within">33%<' in sms_only  # 1 of 2 answered + 1 late


async def test_a_thread_waiting_within_its_target_is_not_called_silence(client):
    """A shopper wrote five minutes ago and the target is an hour: nothing to measure yet, but
    the tile must not say nobody wrote; it says a thread is waiting, still within target."""
    store = (await make_store("shopify")).store
    contact = await Contact.create(store_id=store.id, email="a@example.com")
    asked = utcnow() - timedelta(minutes=5)
    await Conversation.create(
        store_id=store.id,
        contact_id=contact.id,
        opened_at=asked,
        response_started_at=asked,
        response_channel="sms",
        response_due_at=asked + timedelta(hours=1),
    )
    await login_as(client, store, Role.OWNER)
    page = (await client.get("/dashboard")).text
    assert "No shopper has written" not in page
    assert "1 thread waiting for a first reply, still within its target." in page
    empty = (await client.get("/dashboard?channel=email")).text
    assert "No first replies to measure in this period yet." in empty

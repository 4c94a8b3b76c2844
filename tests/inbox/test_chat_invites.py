"""Exit-intent invitations: counted once per tab session, accepts once, orders from the checkout."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from app.analytics.site_saves import between
from app.checkouts.models import Checkout, CheckoutStatus
from app.core.timeutil import utcnow
from inbox.models import ChatInvitation
from tests.factories import make_store

ORIGIN = "https://shop.example.com"


async def post(client, key: str, origin: str = ORIGIN, **body):
    return await client.post(
        f"/chat/v1/invitations?key={key}",
        content=json.dumps(body),
        headers={"Content-Type": "text/plain", "Origin": origin},
    )


async def test_an_invitation_counts_once_per_session_and_its_order_is_found(client):
    store = (await make_store("custom", domain="shop.example.com")).store
    session = "a" * 24
    first = await post(
        client, store.publishable_key, session=session, trigger="back", checkout_id="c-1"
    )
    assert first.status_code == 202 and first.json() == {"counted": True}
    assert first.headers["access-control-allow-origin"] == ORIGIN
    again = await post(
        client, store.publishable_key, session=session, trigger="back", checkout_id="c-1"
    )
    assert again.json() == {"counted": False}  # a replay, or a second tab of the same session
    accept = {"session": session, "trigger": "back", "checkout_id": "c-1", "accepted": True}
    assert (await post(client, store.publishable_key, **accept)).json() == {"counted": True}
    assert (await post(client, store.publishable_key, **accept)).json() == {"counted": False}
    await post(client, store.publishable_key, session="b" * 24, trigger="pointer_left")
    assert await ChatInvitation.filter(store_id=store.id).count() == 2

    since, until = utcnow() - timedelta(hours=1), utcnow() + timedelta(minutes=1)
    assert (await between(store.id, "USD", since, until)).orders == 0
    await Checkout.create(
        store_id=store.id,
        platform="custom",
        token="c-1",
        status=CheckoutStatus.COMPLETED,
        currency="USD",
        total=Decimal("84.50"),
        last_activity_at=utcnow(),
    )
    found = await between(store.id, "USD", since, until)
    assert (found.shown, found.accepted, found.orders) == (2, 1, 1)
    assert found.revenue == Decimal("84.50") and found.accept_rate == 0.5
    earlier = await between(store.id, "USD", since - timedelta(days=1), since)
    assert (earlier.shown, earlier.accepted, earlier.orders) == (0, 0, 0)  # shown in the period
    elsewhere = await between(store.id, "EUR", since, until)
    assert elsewhere.orders == 1 and elsewhere.revenue == 0  # another currency: not summed


async def test_bad_invitations_are_refused_with_reasons_and_nothing_counted(client):
    store = (await make_store("custom", domain="shop.example.com")).store
    key = store.publishable_key
    bad_session = await post(client, key, session="x", trigger="back")
    assert bad_session.status_code == 422 and "session" in bad_session.json()["detail"]
    bad_trigger = await post(client, key, session="a" * 24, trigger="scroll")
    assert bad_trigger.status_code == 422 and "trigger" in bad_trigger.json()["detail"]
    foreign = await post(
        client, key, origin="https://evil.example", session="a" * 24, trigger="back"
    )
    assert foreign.status_code == 403
    unknown = await post(client, "fu_pk_nobody_at_all", session="a" * 24, trigger="back")
    assert unknown.status_code == 404
    assert not await ChatInvitation.exists()

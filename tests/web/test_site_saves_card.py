"""The dashboard's "Saved on site" card: chat invitations shown in the period, accepted, and the
orders and revenue of the invited carts, for this store only; an empty period says what to do."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.accounts.models import Role
from app.checkouts.models import Checkout, CheckoutStatus
from app.core.timeutil import utcnow
from inbox.models import ChatInvitation
from tests.factories import make_store
from tests.web.conftest import login_as


async def _invited(store_id: int, session: str, token: str | None, accepted: bool, days_ago=0):
    shown = utcnow() - timedelta(days=days_ago, minutes=5)
    await ChatInvitation.create(
        store_id=store_id,
        session_key=session,
        checkout_token=token,
        trigger="pointer_left",
        shown_at=shown,
        accepted_at=shown + timedelta(seconds=20) if accepted else None,
    )


async def _bought(store_id: int, token: str, total: str) -> None:
    await Checkout.create(
        store_id=store_id,
        platform="custom",
        token=token,
        status=CheckoutStatus.COMPLETED,
        currency="USD",
        total=Decimal(total),
        last_activity_at=utcnow(),
    )


async def test_the_card_counts_this_periods_invitations_and_their_orders(client):
    store = (await make_store("custom", domain="shop.example.com")).store
    await login_as(client, store, Role.OWNER)
    empty = (await client.get("/dashboard")).text
    assert 'data-testid="site-saves"' in empty
    assert "No chat invitation was shown in this period" in empty

    await _invited(store.id, "a" * 20, "c-1", accepted=True)
    await _invited(store.id, "b" * 20, "c-1", accepted=True)  # same cart, two visits: one order
    await _invited(store.id, "c" * 20, "c-2", accepted=True)  # accepted, not bought
    await _invited(store.id, "d" * 20, "c-3", accepted=False)  # bought without the chat
    await _invited(store.id, "e" * 20, "c-4", accepted=True, days_ago=60)  # before the period
    for token, total in (("c-1", "120.00"), ("c-3", "40.00"), ("c-4", "999.00")):
        await _bought(store.id, token, total)
    other = (await make_store("custom", domain="other.example.com")).store
    await _invited(other.id, "f" * 20, "c-1", accepted=True)  # another store's invitation

    page = (await client.get("/dashboard")).text
    assert 'data-testid="saves-shown">4<' in page
    assert 'data-testid="saves-accepted">3 (75%)<' in page
    assert 'data-testid="saves-orders">1<' in page
    assert 'data-testid="saves-revenue">$120.00<' in page

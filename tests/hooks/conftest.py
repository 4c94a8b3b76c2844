"""Webhook test helpers: a verifying receiver on loopback and an abandoned checkout to announce."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import pytest

from app.checkouts.models import Checkout, Contact
from app.checkouts.services import mark_abandoned
from app.core.timeutil import utcnow
from app.stores.models import Store
from tests.fakes.server import LoopbackServer
from tests.fakes.webhook_receiver import Receiver


@pytest.fixture
async def receiver() -> AsyncIterator[tuple[Receiver, str]]:
    fake = Receiver()
    server = await LoopbackServer(fake).start()
    try:
        yield fake, server.url
    finally:
        await server.stop()


async def abandoned_checkout(
    store: Store, token: str = "c-1", phone: str | None = None
) -> Checkout:
    """An abandoned checkout whose checkout.abandoned event sits in the outbox."""
    contact = await Contact.create(
        store=store, email=f"{token}@example.com", phone=phone, first_name="Ada"
    )
    checkout = await Checkout.create(
        store=store,
        contact=contact,
        platform="custom",
        token=token,
        email=contact.email,
        currency="USD",
        total=Decimal("62.50"),
        subtotal=Decimal("62.50"),
        line_items=[{"title": "Fern", "quantity": 2, "unit_price": "31.25", "sku": "F-1"}],
        last_activity_at=utcnow() - timedelta(hours=1),
        abandon_due_at=utcnow() - timedelta(minutes=1),
    )
    assert await mark_abandoned(checkout.id) is not None
    return checkout

"""A store history with a known signal: mobile shoppers who consented to texts come back most."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from app.checkouts.models import Checkout, CheckoutStatus, Contact
from app.stores.models import Store

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def likely(device: str, consent: bool) -> float:
    return 0.05 + 0.55 * (device == "mobile" and consent)


async def seed_history(store: Store, count: int, seed: int = 7) -> None:
    """`count` abandonments at least eight days old (so all are labelled), each its own contact."""
    rng = random.Random(seed)
    contacts = [
        Contact(
            store=store,
            email=f"h{i}@example.com",
            sms_consent=(consent := rng.random() < 0.5),
            sms_consent_at=NOW - timedelta(days=60) if consent else None,
        )
        for i in range(count)
    ]
    await Contact.bulk_create(contacts)
    stored = await Contact.filter(store=store).order_by("id")
    rows = []
    for i, contact in enumerate(stored):
        device = rng.choice(("mobile", "desktop"))
        won = rng.random() < likely(device, contact.sms_consent)
        at = NOW - timedelta(days=8 + rng.random() * 30)
        rows.append(
            Checkout(
                store=store,
                contact=contact,
                platform="custom",
                token=f"hist-{i}",
                email=contact.email,
                device=device,
                total=Decimal(rng.randint(20, 200)),
                line_items=[{"title": "Tea", "quantity": 1, "unit_price": "1", "line_total": "1"}],
                status=CheckoutStatus.RECOVERED if won else CheckoutStatus.ABANDONED,
                last_activity_at=at,
                abandoned_at=at,
            )
        )
    await Checkout.bulk_create(rows)


async def fresh_abandoned(store: Store, token: str, device: str, consent: bool) -> Checkout:
    contact = await Contact.create(
        store=store,
        email=f"{token}@example.com",
        sms_consent=consent,
        sms_consent_at=NOW - timedelta(days=1) if consent else None,
    )
    return await Checkout.create(
        store=store,
        contact=contact,
        platform="custom",
        token=token,
        email=contact.email,
        device=device,
        currency="EUR",
        total=Decimal("80.00"),
        status=CheckoutStatus.ABANDONED,
        last_activity_at=NOW - timedelta(minutes=30),
        abandoned_at=NOW - timedelta(minutes=15),
    )

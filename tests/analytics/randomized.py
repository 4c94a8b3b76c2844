"""A seeded random store: checkouts, sends, clicks, codes and orders scattered around local midnights."""

from __future__ import annotations

import random
import uuid
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.checkouts.models import Checkout, Contact, Order
from app.messaging.models import Message
from app.recovery.models import Click, DiscountCode, Enrollment, Flow
from app.stores.models import Store
from tests.factories import make_store

STATUSES = ["sent", "delivered", "failed", "undelivered", "queued", "pending", "cancelled"]


def _near_midnight(rnd: random.Random, zone: str, days_ago: int) -> datetime:
    """Half the moments fall within an hour of a local midnight, where day boundaries bite."""
    local = datetime.now(ZoneInfo(zone)).replace(hour=0, minute=0, second=0, microsecond=0)
    base = local - timedelta(days=days_ago)
    spread = 3600 if rnd.random() < 0.5 else 86400
    return (base + timedelta(seconds=rnd.randint(-spread, spread))).astimezone(ZoneInfo("UTC"))


async def _order(store: Store, rnd: random.Random, checkout: Checkout, at: datetime) -> None:
    kind = rnd.random()
    values: dict = {"currency": "USD", "total": Decimal(rnd.randint(10, 300)) + Decimal("0.99")}
    if kind < 0.15:  # the platform's own rate, shop total in dollars
        values.update(presentment_currency="EUR", presentment_total=values["total"] * 9 / 10)
    elif kind < 0.25:  # charged in euros: converted with that rate
        values.update(currency="EUR")
    elif kind < 0.3:  # a currency we hold no rate for
        values.update(currency="GBP")
    await Order.create(
        store=store,
        checkout=checkout,
        contact_id=checkout.contact_id,
        external_id=uuid.uuid4().hex,
        placed_at=at,
        financial_status=rnd.choice(["paid", "paid", "paid", "refunded"]),
        discount_codes=["fu-" + str(checkout.id)] if rnd.random() < 0.3 else [],
        **values,
    )


async def random_store(seed: int, zone: str, checkouts: int = 40) -> Store:
    rnd = random.Random(seed)
    store = (await make_store("custom", domain=f"s{seed}.example.com", timezone=zone)).store
    flow = await Flow.create(store=store, name="Default", holdout_percent=Decimal(10))
    for i in range(checkouts):
        at = _near_midnight(rnd, zone, rnd.randint(0, 20))
        contact = await Contact.create(
            store=store,
            email=f"c{i}@example.com",
            email_consent=rnd.random() < 0.6,
            phone=f"+1555555{i:04d}",
            sms_consent=rnd.random() < 0.5,
        )
        checkout = await Checkout.create(
            store=store,
            contact=contact,
            platform="custom",
            token=uuid.uuid4().hex,
            email=contact.email,
            line_items=[
                {
                    "title": rnd.choice(["Tote", "Shirt", "Mug", None]),
                    "quantity": rnd.randint(1, 3),
                    "line_total": f"{rnd.randint(5, 90)}.{rnd.randint(0, 99):02d}",
                }
                for _ in range(rnd.randint(1, 3))
            ],
            currency=rnd.choice(["USD", "USD", "EUR"]),
            status="abandoned",
            last_activity_at=at,
            abandoned_at=at,
        )
        held = rnd.random() < 0.15
        enrollment = await Enrollment.create(
            store=store,
            checkout=checkout,
            contact=contact,
            flow=flow,
            status="holdout" if held else "active",
            abandoned_at=at,
        )
        if held:
            if rnd.random() < 0.4:
                await _order(store, rnd, checkout, at + timedelta(hours=rnd.randint(1, 200)))
            continue
        await _sends(store, rnd, checkout, enrollment, at)
    await _cartless(store, rnd, zone)
    return store


async def _cartless(store: Store, rnd: random.Random, zone: str) -> None:
    """Entries without a cart (a birthday flow), some held out: their wins are the contact's
    orders after entry, which the rollups leave to the raw tables."""
    flow = await Flow.create(
        store=store, name="Birthday", trigger="contact.birthday", holdout_percent=Decimal(30)
    )
    for contact in await Contact.filter(store=store).order_by("id"):
        if rnd.random() < 0.7:
            continue
        await Enrollment.create(
            store=store,
            contact=contact,
            flow=flow,
            trigger="contact.birthday",
            entry_key=str(contact.id),
            status="holdout" if rnd.random() < 0.3 else "completed",
            abandoned_at=_near_midnight(rnd, zone, rnd.randint(0, 20)),
        )


async def _sends(
    store: Store, rnd: random.Random, checkout: Checkout, enrollment: Enrollment, at: datetime
) -> None:
    first = None
    sent_at = at
    for step in range(rnd.randint(0, 3)):
        sent_at = sent_at + timedelta(minutes=rnd.randint(20, 3000))
        sms = rnd.random() < 0.4
        status = rnd.choice(STATUSES)
        message = await Message.create(
            store=store,
            contact_id=checkout.contact_id,
            checkout=checkout,
            enrollment_id=enrollment.id,
            step_index=step,
            variant=rnd.choice(["a", "b"]),
            channel="sms" if sms else "email",
            direction="outbound",
            author="automation",
            to_address="x",
            body="Your cart",
            segments=rnd.randint(1, 3) if sms else 0,
            status=status,
            sent_at=sent_at if status not in ("pending", "cancelled") else None,
            delivered_at=sent_at + timedelta(minutes=1) if status == "delivered" else None,
            idempotency_key=uuid.uuid4().hex,
        )
        await Message.filter(id=message.id).update(created_at=sent_at)
        first = first or sent_at
        if rnd.random() < 0.3:
            await Click.create(
                store=store,
                enrollment=enrollment,
                message=message if rnd.random() < 0.8 else None,
                checkout=checkout,
                clicked_at=sent_at + timedelta(minutes=rnd.randint(1, 600)),
            )
        if step == 0 and rnd.random() < 0.3:
            await DiscountCode.create(
                store=store,
                code=f"FU-{checkout.id}",
                kind="static",
                enrollment=enrollment,
                checkout=checkout,
                assigned_at=sent_at,
            )
    if first:
        await Checkout.filter(id=checkout.id).update(recovery_contacted_at=first)
    if rnd.random() < 0.5:
        after = sent_at if rnd.random() < 0.6 else at  # often soon after the last send
        placed = after + timedelta(minutes=rnd.randint(-120, 3000))
        await _order(store, rnd, checkout, placed)
        status = "recovered" if first and first < placed else "completed"
        await Checkout.filter(id=checkout.id).update(status=status, completed_at=placed)

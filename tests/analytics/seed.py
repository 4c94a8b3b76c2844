"""A store with a hand-built month: recovered, held-out, refunded and early orders, A/B sends, replies."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from app.checkouts.models import Checkout, Contact, Order
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery.models import Click, DiscountCode, Enrollment, Flow
from app.stores.models import Store
from tests.factories import make_store


@dataclass
class Seeded:
    store: Store
    token: str
    start: datetime


ITEMS = [
    {"title": "Linen shirt", "quantity": 1, "unit_price": "60.00", "line_total": "60.00"},
    {"title": "Canvas tote", "quantity": 2, "unit_price": "20.00", "line_total": "40.00"},
]


async def _contact(store: Store, n: int, **kw: Any) -> Contact:
    return await Contact.create(store=store, email=f"shopper{n}@example.com", **kw)


async def _checkout(store: Store, contact: Contact, at: datetime, **kw: Any) -> Checkout:
    values: dict[str, Any] = {
        "platform": "shopify",
        "token": uuid.uuid4().hex,
        "email": contact.email,
        "line_items": ITEMS,
        "total": Decimal("100"),
        "status": "abandoned",
        "last_activity_at": at,
        "abandoned_at": at,
    }
    values.update(kw)
    return await Checkout.create(store=store, contact=contact, **values)


async def _send(
    store: Store, checkout: Checkout, enrollment: Enrollment, at: datetime, **kw: Any
) -> Message:
    values: dict[str, Any] = {
        "channel": "email",
        "direction": "outbound",
        "author": "automation",
        "to_address": checkout.email or "x",
        "body": "Your cart",
        "status": "sent",
        "sent_at": at,
        "step_index": 0,
        "variant": "a",
        "segments": 0,
    }
    values.update(kw)
    message = await Message.create(
        store=store,
        contact_id=checkout.contact_id,
        checkout=checkout,  # type: ignore[attr-defined]
        enrollment_id=enrollment.id,
        idempotency_key=uuid.uuid4().hex,
        **values,
    )
    await Message.filter(id=message.id).update(created_at=at)
    return message


async def _order(
    store: Store, checkout: Checkout | None, contact: Contact, at: datetime, total: str, **kw: Any
) -> Order:
    return await Order.create(
        store=store,
        checkout=checkout,
        contact=contact,
        external_id=uuid.uuid4().hex,
        currency="USD",
        total=Decimal(total),
        placed_at=at,
        **kw,
    )


async def seed_store(days_ago: int = 5) -> Seeded:
    issued = await make_store("shopify", name="Velvet Fern", timezone="America/New_York")
    store = issued.store
    flow = await Flow.create(store=store, name="Default", holdout_percent=Decimal(10))
    t = (utcnow() - timedelta(days=days_ago)).replace(minute=0, second=0, microsecond=0)

    async def enrolled(contact: Contact, checkout: Checkout, status: str = "active") -> Enrollment:
        return await Enrollment.create(
            store=store,
            checkout=checkout,
            contact=contact,
            flow=flow,
            status=status,
            abandoned_at=checkout.abandoned_at,
        )

    # 1. Email, click, discount code, order 3 h later: every model claims it.
    a = await _contact(store, 1, email_consent=True)
    c1 = await _checkout(store, a, t, recovery_contacted_at=t + timedelta(hours=1))
    e1 = await enrolled(a, c1)
    m1 = await _send(store, c1, e1, t + timedelta(hours=1))
    await Click.create(
        store=store, enrollment=e1, message=m1, checkout=c1, clicked_at=t + timedelta(hours=2)
    )
    await DiscountCode.create(
        store=store, code="FU-AAA", kind="static", enrollment=e1, checkout=c1, assigned_at=t
    )
    await _order(
        store,
        c1,
        a,
        t + timedelta(hours=3),
        "100.00",
        discount_codes=["fu-aaa"],
        financial_status="paid",
    )
    await Checkout.filter(id=c1.id).update(status="recovered", completed_at=t + timedelta(hours=3))

    # 2. SMS (variant b, 2 segments) delivered, order 2 days later: recovered, outside the SMS window.
    b = await _contact(store, 2, phone="+15555550102", sms_consent=True)
    c2 = await _checkout(
        store, b, t + timedelta(hours=1), recovery_contacted_at=t + timedelta(hours=2)
    )
    e2 = await enrolled(b, c2)
    await _send(
        store,
        c2,
        e2,
        t + timedelta(hours=2),
        channel="sms",
        status="delivered",
        delivered_at=t + timedelta(hours=2),
        segments=2,
        variant="b",
        to_address="+15555550102",
    )
    await _order(
        store,
        c2,
        b,
        t + timedelta(days=2),
        "50.00",
        presentment_currency="EUR",
        presentment_total=Decimal("46.00"),
        financial_status="paid",
    )
    await Checkout.filter(id=c2.id).update(status="recovered", completed_at=t + timedelta(days=2))

    # 3. Held out: never messaged, bought the next day anyway.
    c = await _contact(store, 3)
    c3 = await _checkout(store, c, t + timedelta(hours=2))
    await enrolled(c, c3, "holdout")
    await _order(store, c3, c, t + timedelta(days=1), "80.00", financial_status="paid")
    await Checkout.filter(id=c3.id).update(status="completed", completed_at=t + timedelta(days=1))

    # 4. Send failed; no order.
    d = await _contact(store, 4, email_consent=True)
    c4 = await _checkout(store, d, t + timedelta(hours=3))
    e4 = await enrolled(d, c4)
    await _send(store, c4, e4, t + timedelta(hours=4), status="failed", sent_at=None)

    # 5. Messaged, then ordered and refunded: excluded everywhere.
    e = await _contact(store, 5, email_consent=True)
    c5 = await _checkout(
        store, e, t + timedelta(hours=4), recovery_contacted_at=t + timedelta(hours=5)
    )
    e5 = await enrolled(e, c5)
    await _send(store, c5, e5, t + timedelta(hours=5))
    await _order(store, c5, e, t + timedelta(hours=6), "70.00", financial_status="refunded")

    # 6. A shopper who replied by SMS and got an agent's answer.
    for author, direction in (("shopper", "inbound"), ("agent", "outbound")):
        await Message.create(
            store=store,
            contact=b,
            checkout=c2,
            conversation_id=1,
            channel="sms",
            direction=direction,
            author=author,
            to_address="+15555550102",
            body="Is it in blue?",
            status="received" if direction == "inbound" else "delivered",
        )
    return Seeded(store=store, token=issued.api_token, start=t)

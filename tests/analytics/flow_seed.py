"""Two flows of one store with hand-built sends, clicks, replies, orders and a holdout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from app.checkouts.models import Checkout
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery.models import Click, Enrollment, Flow
from app.stores.models import Store
from tests.analytics.seed import _checkout, _contact, _order, _send
from tests.factories import make_store


@dataclass
class TwoFlows:
    store: Store
    token: str
    carts: Flow
    winback: Flow
    start: datetime


async def _enrol(store: Store, flow: Flow, contact, checkout, status: str = "active"):
    return await Enrollment.create(
        store=store,
        checkout=checkout,
        contact=contact,
        flow=flow,
        status=status,
        abandoned_at=checkout.abandoned_at,
    )


async def seed_two_flows() -> TwoFlows:
    """Carts (checkout.abandoned): step 1 email to shopper 1 (delivered, clicked, replied, ordered
    100.00 within 3 h: every model); step 2 SMS to shopper 2 (delivered, no order).
    Win-back (contact.lapsed): step 1 email to shopper 3, who ordered 40.00 a day later (message
    model only, no abandoned checkout to recover); shopper 4 held out; a send that failed to 5."""
    issued = await make_store("shopify", name="Two Flows", timezone="UTC")
    store = issued.store
    carts = await Flow.create(store=store, name="Carts", holdout_percent=Decimal(0))
    winback = await Flow.create(
        store=store, name="Win back", trigger="contact.lapsed", trigger_params={"days": 90}
    )
    t = (utcnow() - timedelta(days=3)).replace(minute=0, second=0, microsecond=0)

    a = await _contact(store, 1, email_consent=True, first_name='=HYPERLINK("x")')
    c1 = await _checkout(store, a, t, recovery_contacted_at=t + timedelta(hours=1))
    e1 = await _enrol(store, carts, a, c1)
    m1 = await _send(store, c1, e1, t + timedelta(hours=1))
    await Click.create(
        store=store, enrollment=e1, message=m1, checkout=c1, clicked_at=t + timedelta(hours=2)
    )
    await Message.create(
        store=store,
        contact=a,
        channel="email",
        direction="inbound",
        author="shopper",
        to_address="shop@example.com",
        body="Does it come in blue?",
        status="received",
    )
    await Message.filter(direction="inbound", contact_id=a.id).update(
        created_at=t + timedelta(hours=2)
    )
    await _order(store, c1, a, t + timedelta(hours=3), "100.00", financial_status="paid")
    await Checkout.filter(id=c1.id).update(status="recovered", completed_at=t + timedelta(hours=3))

    b = await _contact(store, 2, phone="+15555550102", sms_consent=True)
    c2 = await _checkout(store, b, t, recovery_contacted_at=t + timedelta(hours=2))
    e2 = await _enrol(store, carts, b, c2)
    await _send(
        store,
        c2,
        e2,
        t + timedelta(hours=2),
        channel="sms",
        status="delivered",
        delivered_at=t + timedelta(hours=2),
        step_index=1,
        segments=1,
        to_address="+15555550102",
    )

    c = await _contact(store, 3, email_consent=True)
    c3 = await _checkout(store, c, t + timedelta(hours=1), status="completed")
    e3 = await _enrol(store, winback, c, c3)
    await _send(store, c3, e3, t + timedelta(hours=4), variant="a")
    await _order(store, None, c, t + timedelta(days=1), "40.00", financial_status="paid")

    d = await _contact(store, 4, email_consent=True)
    c4 = await _checkout(store, d, t + timedelta(hours=1), status="completed")
    await _enrol(store, winback, d, c4, "holdout")

    f = await _contact(store, 5, email_consent=True)
    c5 = await _checkout(store, f, t + timedelta(hours=1), status="completed")
    e5 = await _enrol(store, winback, f, c5)
    await _send(store, c5, e5, t + timedelta(hours=5), status="failed", sent_at=None)
    return TwoFlows(store, issued.api_token, carts, winback, t)

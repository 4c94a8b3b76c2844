"""Several flows for one shopper: one sequence a week across flows, payment reminders outside it."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.checkouts.models import Contact, Order
from app.recovery import entries
from app.recovery.models import EnrollmentStatus, Flow, FlowStep
from app.recovery.sending import run_step


async def _flow(store, trigger: str, transactional: bool = False) -> Flow:
    flow = await Flow.create(
        store_id=store.id, name=trigger, trigger=trigger, transactional=transactional
    )
    await FlowStep.create(
        flow_id=flow.id,
        position=0,
        channel="email",
        delay_seconds=0,
        variants=[{"key": "a", "subject": f"{trigger}", "body": "Hi {{ first_name }}"}],
    )
    return flow


async def test_budget_is_one_sequence_across_flows_except_transactional(deps, store, clock, smtp):
    contact = await Contact.create(
        store_id=store.id, email="ann@example.com", first_name="Ann", email_consent=True
    )
    welcome = await _flow(store, "contact.subscribed")
    birthday = await _flow(store, "contact.birthday")
    reminder = await _flow(store, "order.payment_pending", transactional=True)
    now = clock.now - timedelta(minutes=1)
    first = await entries.enter(welcome, contact.id, "subscribed", now, None)
    assert first is not None and await run_step(deps, first.id, 0) == "sent"
    order = await Order.create(
        store_id=store.id,
        contact_id=contact.id,
        external_id="77",
        currency="USD",
        total=Decimal("12.50"),
        financial_status="on-hold",
        placed_at=clock.now + timedelta(minutes=1),
    )

    paying = await entries.enter(reminder, contact.id, f"order:{order.id}", now, None, order.id)
    assert paying is not None and await run_step(deps, paying.id, 0) == "sent"

    party = await entries.enter(birthday, contact.id, "birthday:2026-01-14", now, None)
    assert party is not None and await run_step(deps, party.id, 0) == "stopped"
    await party.refresh_from_db()
    assert (party.status, party.stop_reason) == (EnrollmentStatus.STOPPED, "frequency_cap")
    assert [m["Subject"] for m in smtp.messages] == ["contact.subscribed", "order.payment_pending"]
    # Entering again for the same period is refused by the database: nothing new.
    assert await entries.enter(welcome, contact.id, "subscribed", now, None) is None


async def test_a_magic_link_without_a_cart_lands_on_the_stores_own_home_page(store, clock):
    from urllib.parse import parse_qs, urlsplit

    from app.recovery import links, visits
    from app.recovery.models import Click

    contact = await Contact.create(store_id=store.id, email="ann@example.com")
    flow = await _flow(store, "contact.birthday")
    enrollment = await entries.enter(flow, contact.id, "birthday:2027-01-01", clock.now, None)
    assert enrollment is not None
    landing = await visits.follow(links.magic_token(enrollment.id, 0), "Mozilla/5.0")
    assert landing.url is not None
    url = urlsplit(landing.url)
    assert (url.scheme, url.netloc, url.path) == ("https", store.domain, "/")
    assert parse_qs(url.query)["utm_campaign"] == ["contact_birthday"]
    [click] = await Click.filter(enrollment_id=enrollment.id)
    assert click.checkout_id is None

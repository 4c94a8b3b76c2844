"""Customer history kept from real, signed Shopify order webhooks; replays and the backfill agree."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from app.checkouts.models import Contact, ContactHistory, Order
from app.ingest.replay import replay
from tests.factories import make_store, payload, shopify_headers
from tests.integration.test_cli import followup


def order_body(order_id: int, status: str, total: str, placed: str, **changes: object) -> bytes:
    doc = payload("shopify_orders_create.json")
    doc.update(
        id=order_id,
        financial_status=status,
        total_price=total,
        total_price_set={"shop_money": {"amount": total, "currency_code": "USD"}},
        processed_at=placed,
        created_at=placed,
        checkout_token=f"tok-{order_id}",
        cart_token=None,
        **changes,
    )
    return json.dumps(doc).encode()


async def deliver(client, body: bytes, topic: str) -> None:
    response = await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, topic)
    )
    assert response.status_code == 200, response.text


async def test_history_follows_orders_and_payments(client, run_jobs):
    await make_store("shopify")
    birthday = [{"name": "Birthday", "value": "1990-07-14"}]
    await deliver(
        client,
        order_body(1, "paid", "40.10", "2026-01-02T10:00:00Z", note_attributes=birthday),
        "orders/create",
    )
    await deliver(
        client, order_body(2, "pending", "60.05", "2026-02-03T10:00:00Z"), "orders/create"
    )
    await run_jobs()
    contact = await Contact.get(email="maya.okafor@example.com")
    assert contact.birthday == date(1990, 7, 14)
    found = await ContactHistory.get(contact_id=contact.id)
    assert (found.orders_count, found.total_spent, found.currency) == (1, Decimal("40.10"), "USD")
    assert found.first_order_at == found.last_order_at == datetime(2026, 1, 2, 10, tzinfo=UTC)
    assert found.birthday == date(1990, 7, 14) and found.birthday_due_at is not None
    assert found.subscribed is contact.email_consent or contact.sms_consent

    # The pending order is paid: now it counts, spend is exact, the last order moves.
    await deliver(client, order_body(2, "paid", "60.05", "2026-02-03T10:00:00Z"), "orders/updated")
    await run_jobs()
    found = await ContactHistory.get(contact_id=contact.id)
    assert (found.orders_count, found.total_spent) == (2, Decimal("100.15"))
    assert found.last_order_at == datetime(2026, 2, 3, 10, tzinfo=UTC)

    # Every stored delivery processed again (each one announces its order again): nothing moves.
    await replay(None, "all", None, None)
    await run_jobs()
    again = await ContactHistory.get(contact_id=contact.id)
    assert (again.orders_count, again.total_spent, again.last_order_at) == (
        2,
        Decimal("100.15"),
        found.last_order_at,
    )
    assert await ContactHistory.filter(contact_id=contact.id).count() == 1


async def test_cancelled_order_leaves_the_history(client, run_jobs):
    await make_store("shopify")
    await deliver(client, order_body(5, "paid", "25.00", "2026-03-01T08:00:00Z"), "orders/create")
    await run_jobs()
    assert (await ContactHistory.get()).orders_count == 1
    cancelled = order_body(
        5, "paid", "25.00", "2026-03-01T08:00:00Z", cancelled_at="2026-03-02T08:00:00Z"
    )
    await deliver(client, cancelled, "orders/cancelled")
    await run_jobs()
    history = await ContactHistory.get()
    assert (history.orders_count, history.total_spent, history.last_order_at) == (0, 0, None)


async def test_contacts_rebuild_backfills_existing_orders(settings):
    """Orders stored before the history existed: the CLI fills it in, and running it twice is harmless."""
    store = await make_store("shopify")
    contacts = [
        await Contact.create(store_id=store.store.id, email=f"p{i}@example.com") for i in range(3)
    ]
    for n, contact in enumerate(contacts):
        for k in range(n):
            await Order.create(
                store_id=store.store.id,
                contact_id=contact.id,
                external_id=f"{contact.id}-{k}",
                currency="USD",
                total=Decimal("19.99"),
                financial_status="paid",
                placed_at=datetime(2026, 1, 1 + k, tzinfo=UTC),
            )
    assert await ContactHistory.all().count() == 0
    for _ in range(2):
        result = followup("contacts", "rebuild", "--store", str(store.store.id))
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout.strip().splitlines()[-1]) == {"contacts": 3}
    rows = {h.contact_id: h for h in await ContactHistory.all()}
    assert [rows[c.id].orders_count for c in contacts] == [0, 1, 2]
    assert rows[contacts[2].id].total_spent == Decimal("39.98")
    assert rows[contacts[0].id].first_order_at is None
    missing = followup("contacts", "rebuild", "--store", "999999")
    assert missing.returncode != 0 and "no store with id 999999" in missing.stderr


async def test_todays_due_contacts_come_from_the_indexed_range(settings):
    """A lapsed flow's daily pass finds exactly the contacts whose last order is `days` old today,
    in this store only, on either database."""
    from app.recovery.flows import due_for_flow
    from app.recovery.models import Flow

    store = (await make_store("shopify")).store
    other = (await make_store("custom", name="Other")).store
    now = datetime(2026, 6, 1, 6, tzinfo=UTC)
    ages = {"due": 90.5, "due_edge": 90.0, "tomorrow": 89.9, "yesterday": 91.01, "none": None}
    ids = {}
    for owner in (store, other):
        for name, age in ages.items():
            contact = await Contact.create(store_id=owner.id, email=f"{name}@example.com")
            last = None if age is None else now - timedelta(days=age)
            await ContactHistory.create(
                store_id=owner.id, contact_id=contact.id, currency="USD", last_order_at=last
            )
            if owner is store:
                ids[name] = contact.id
    flow = await Flow.create(
        store_id=store.id, name="Win back", trigger="contact.lapsed", trigger_params={"days": 90}
    )
    found = await due_for_flow(flow, now - timedelta(days=1), now)
    assert sorted(found) == sorted([ids["due"], ids["due_edge"]])


async def test_passed_birthdays_move_on_to_next_year_in_the_shoppers_zone(settings):
    """A birthday passes without any event: the hourly job makes next year's due, once."""
    from app.checkouts.history import advance_birthdays, refresh

    store = (await make_store("shopify")).store
    tokyo = await Contact.create(
        store_id=store.id, email="t@example.com", timezone="Asia/Tokyo", birthday=date(1990, 1, 1)
    )
    berlin = await Contact.create(
        store_id=store.id,
        email="b@example.com",
        timezone="Europe/Berlin",
        birthday=date(1990, 3, 29),
    )
    then = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)  # already 09:00 on 1 January in Tokyo
    for contact in (tokyo, berlin):
        await refresh(contact.id, now=then)
    rows = {h.contact_id: h for h in await ContactHistory.all()}
    assert rows[tokyo.id].birthday_due_at == datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    assert rows[berlin.id].birthday_due_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)  # CEST
    # Two days after Tokyo's birthday: only that one moves, to 1 January 2027 09:00 JST.
    assert await advance_birthdays(datetime(2026, 1, 3, 1, tzinfo=UTC)) == 1
    assert await advance_birthdays(datetime(2026, 1, 3, 2, tzinfo=UTC)) == 0
    rows = {h.contact_id: h for h in await ContactHistory.all()}
    assert rows[tokyo.id].birthday_due_at == datetime(2027, 1, 1, 0, 0, tzinfo=UTC)
    assert rows[berlin.id].birthday_due_at == datetime(2026, 3, 29, 7, 0, tzinfo=UTC)
    # An order event later leaves the advanced due time alone.
    await refresh(tokyo.id, now=datetime(2026, 2, 1, tzinfo=UTC))
    assert (await ContactHistory.get(contact_id=tokyo.id)).birthday_due_at == datetime(
        2027, 1, 1, 0, 0, tzinfo=UTC
    )

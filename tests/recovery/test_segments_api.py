"""Segments over /api/v1/segments and on flows: CRUD per store, 422 naming the exact field, the
live count agreeing with the pure rule contact for contact, tags from identify, RFM cut-offs."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.checkouts.contacts import sync_tag_rows
from app.checkouts.models import Contact, ContactHistory, ContactTag
from app.core.timeutil import utcnow
from app.recovery.models import Flow, FlowStep, RfmCutoffs, Segment
from app.recovery.segments import rules, services
from app.stores.models import Store
from tests.factories import make_store
from tests.recovery.test_flows_api import WELCOME_BACK

VIP = {"name": "VIP", "conditions": {"tags_any": ["VIP"], "orders_count": {"min": 1}}}


@pytest.fixture
async def api(settings):
    issued = await make_store("woocommerce", name="Tidewater Teas")
    return issued.store, {"Authorization": f"Bearer {issued.api_token}"}


async def test_create_list_change_count_and_delete(client, api):
    store, headers = api
    created = await client.post("/api/v1/segments", json=VIP, headers=headers)
    assert created.status_code == 201, created.text
    vip = created.json()
    assert vip["conditions"] == {"tags_any": ["vip"], "orders_count": {"min": 1}}
    assert (vip["matching"], vip["used_by"]) == (0, [])
    contact = await Contact.create(store=store, email="ada@example.com", tags=["vip"])
    await sync_tag_rows(contact)
    await ContactHistory.create(
        store=store, contact=contact, orders_count=2, total_spent=Decimal("80"), currency="USD"
    )
    got = (await client.get(f"/api/v1/segments/{vip['id']}", headers=headers)).json()
    assert got["matching"] == 1
    counted = await client.post(
        "/api/v1/segments/count",
        json={"conditions": {"total_spent": {"min": "80.00"}}},
        headers=headers,
    )
    assert counted.status_code == 200 and counted.json() == {"matching": 1}

    renamed = await client.patch(
        f"/api/v1/segments/{vip['id']}", json={"name": "Best"}, headers=headers
    )
    assert renamed.json()["name"] == "Best" and renamed.json()["conditions"] == vip["conditions"]
    replaced = await client.put(
        f"/api/v1/segments/{vip['id']}",
        json={"name": "Big spenders", "conditions": {"total_spent": {"min": "100"}}},
        headers=headers,
    )
    assert replaced.json()["matching"] == 0
    listed = (await client.get("/api/v1/segments", headers=headers)).json()
    assert [s["name"] for s in listed] == ["Big spenders"]

    gone = await client.delete(f"/api/v1/segments/{vip['id']}", headers=headers)
    assert gone.status_code == 204 and not await Segment.exists()
    assert (await client.get(f"/api/v1/segments/{vip['id']}", headers=headers)).status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"name": "", "conditions": {}}, "name: must be 1 to 120 characters"),
        ({"name": "x", "conditions": {"spent": 1}}, "conditions.spent: unknown condition"),
        (
            {"name": "x", "conditions": {"total_spent": {"min": 12.5}}},
            "conditions.total_spent.min: must be an amount as a string",
        ),
        (
            {"name": "x", "conditions": {"total_spent": {"min": "5", "currency": "EUR"}}},
            "conditions.total_spent.currency: this store sells in USD",
        ),
        (
            {"name": "x", "conditions": {"rfm_groups": ["whales"]}},
            "conditions.rfm_groups: unknown group 'whales'",
        ),
    ],
)
async def test_bad_input_is_refused_naming_the_field_and_nothing_is_stored(
    client, api, body, message
):
    _, headers = api
    response = await client.post("/api/v1/segments", json=body, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(message)
    assert not await Segment.exists()


async def test_names_are_unique_per_store_and_segments_stay_in_their_store(client, api):
    _, headers = api
    first = (await client.post("/api/v1/segments", json=VIP, headers=headers)).json()
    again = await client.post("/api/v1/segments", json=VIP, headers=headers)
    assert again.status_code == 422
    assert again.json()["detail"] == "name: this store already has a segment 'VIP'"
    other = await make_store("custom", name="Other")
    theirs = {"Authorization": f"Bearer {other.api_token}"}
    assert (await client.get(f"/api/v1/segments/{first['id']}", headers=theirs)).status_code == 404
    assert (await client.post("/api/v1/segments", json=VIP, headers=theirs)).status_code == 201
    assert (await client.get("/api/v1/segments")).status_code == 401
    flow = await client.post(
        "/api/v1/flows",
        json={"name": "Theirs", "segment_id": first["id"], "steps": [WELCOME_BACK]},
        headers=theirs,
    )
    assert flow.status_code == 422
    assert flow.json()["detail"] == f"segment_id: no segment {first['id']} in this store"


async def test_a_flow_and_its_steps_take_a_segment_and_a_used_segment_is_kept(client, api):
    _, headers = api
    vip = (await client.post("/api/v1/segments", json=VIP, headers=headers)).json()
    big = (
        await client.post(
            "/api/v1/segments",
            json={"name": "Big", "conditions": {"total_spent": {"min": "500"}}},
            headers=headers,
        )
    ).json()
    steps = [WELCOME_BACK, {**WELCOME_BACK, "delay_seconds": 3600, "segment_id": big["id"]}]
    created = await client.post(
        "/api/v1/flows",
        json={"name": "VIP carts", "segment_id": vip["id"], "steps": steps},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    flow = created.json()
    assert flow["segment_id"] == vip["id"]
    assert [s["segment_id"] for s in flow["steps"]] == [None, big["id"]]

    bad_step = await client.patch(
        f"/api/v1/flows/{flow['id']}",
        json={"steps": [{**WELCOME_BACK, "segment_id": 999999}]},
        headers=headers,
    )
    assert bad_step.status_code == 422
    assert bad_step.json()["detail"] == "steps[0].segment_id: no segment 999999 in this store"

    kept = await client.delete(f"/api/v1/segments/{big['id']}", headers=headers)
    assert kept.status_code == 409 and "VIP carts" in kept.json()["detail"]
    used = (await client.get(f"/api/v1/segments/{vip['id']}", headers=headers)).json()
    assert used["used_by"] == ["VIP carts"]

    renamed = await client.patch(
        f"/api/v1/flows/{flow['id']}", json={"name": "All carts"}, headers=headers
    )
    assert renamed.json()["segment_id"] == vip["id"]  # absent: left as it was
    cleared = await client.patch(
        f"/api/v1/flows/{flow['id']}",
        json={"segment_id": None, "steps": [WELCOME_BACK]},
        headers=headers,
    )
    assert cleared.json()["segment_id"] is None
    assert (await Flow.get(id=flow["id"])).segment_id is None
    for segment in (vip, big):
        done = await client.delete(f"/api/v1/segments/{segment['id']}", headers=headers)
        assert done.status_code == 204


async def test_segments_are_in_the_openapi_schema(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/segments"])
    assert {"get", "put", "patch", "delete"} <= set(
        schema["paths"]["/api/v1/segments/{segment_id}"]
    )
    assert "post" in schema["paths"]["/api/v1/segments/count"]


# --- the live count is the pure rule, contact for contact -----------------------------------------

CONDITIONS = [
    {},
    {"orders_count": {"min": 2}},
    {"orders_count": {"max": 0}},
    {"orders_count": {"min": 1, "max": 3}},
    {"total_spent": {"min": "100.00"}},
    {"total_spent": {"max": "49.99"}},
    {"total_spent": {"min": "50", "max": "50"}},
    {"last_order_days": {"max": 30}},
    {"last_order_days": {"min": 31, "max": 180}},
    {"last_order_days": {"min": 0}},
    {"tags_any": ["vip", "gold"]},
    {"tags_all": ["vip", "gold"]},
    {"tags_none": ["vip"]},
    {"countries": ["DE", "FR"]},
    {"subscribed": True},
    {"subscribed": False},
    {"rfm_groups": ["prospects"]},
    {"rfm_groups": ["champions"]},
    {"rfm_groups": ["loyal", "new"]},
    {"rfm_groups": ["promising"]},
    {"rfm_groups": ["at_risk", "hibernating"]},
    {"tags_none": ["gold"], "orders_count": {"max": 1}, "subscribed": False},
    {"total_spent": {"max": "1000"}, "rfm_groups": ["prospects", "promising"]},
]


async def _population(store, rng: random.Random, now: datetime) -> list[int]:
    """Contacts of every kind: no history row, no orders, spend in another currency, tags, consent."""
    ids = []
    for i in range(80):
        contact = await Contact.create(
            store=store,
            email=f"p{i}@example.com",
            country=rng.choice([None, "DE", "de", "FR", "US"]),
            tags=sorted(rng.sample(["vip", "gold", "new"], rng.randint(0, 2))),
            email_consent=rng.random() < 0.5,
            email_opted_out_at=now if rng.random() < 0.2 else None,
            sms_consent=rng.random() < 0.3,
        )
        await sync_tag_rows(contact)
        ids.append(contact.id)
        if rng.random() < 0.15:
            continue  # never ordered, never refreshed: no history row at all
        orders = rng.choice([0, 1, 1, 2, 3, 4, 5, 7])
        await ContactHistory.create(
            store=store,
            contact=contact,
            orders_count=orders,
            total_spent=Decimal(rng.choice(["0", "49.99", "50", "50.00", "99.99", "100", "720.5"]))
            if orders
            else Decimal(0),
            currency=rng.choice(["USD", "USD", "USD", "EUR"]),
            last_order_at=now - timedelta(hours=rng.randint(0, 24 * 500)) if orders else None,
        )
    return ids


async def test_the_live_count_agrees_with_the_pure_rule_for_every_contact(api):
    store, _ = api
    now = utcnow()
    await _population(store, random.Random(15), now)
    other = (await make_store("custom", name="Other")).store
    await _population(other, random.Random(16), now)  # never counted for `store`
    ctx = rules.Context(now, store.currency, await services.cutoffs_for(store.id))
    contacts = await Contact.filter(store=store)
    histories = {h.contact_id: h for h in await ContactHistory.filter(store=store)}
    seen = []
    for raw in CONDITIONS:
        conditions = rules.validate(raw, store.currency)
        expected = sum(
            1
            for c in contacts
            if rules.unmet(conditions, services.subject(c, histories.get(c.id), "USD"), ctx) is None
        )
        assert await services.count(store, conditions, now) == expected, raw
        seen.append(expected)
    assert sum(1 for n in seen if 0 < n < 80) >= len(CONDITIONS) - 3, seen  # a real spread
    assert await services.count(store, {}, now) == 80


async def test_rfm_cut_offs_are_the_stores_own_quintiles(api):
    store, _ = api
    now = datetime(2026, 6, 1, tzinfo=UTC)
    rng = random.Random(5)
    days, spend = [], []
    for i in range(rules.MIN_BUYERS + 7):
        contact = await Contact.create(store=store, email=f"b{i}@example.com")
        day, spent = rng.randint(0, 400), Decimal(rng.randint(100, 99999)) / 100
        days.append(day)
        spend.append(spent)
        await ContactHistory.create(
            store=store,
            contact=contact,
            orders_count=1,
            total_spent=spent,
            currency="USD",
            last_order_at=now - timedelta(days=day, hours=1),
        )
    found = await services.refresh_cutoffs(store, now)
    assert found.recency_days == tuple(rules.quintile_cuts(sorted(days)))
    assert found.monetary == tuple(rules.quintile_cuts(sorted(spend)))
    assert found.currency == "USD" and found.buyers == rules.MIN_BUYERS + 7
    assert await services.cutoffs_for(store.id) == found  # what the send path and counts read
    row = await RfmCutoffs.get(store=store)
    assert row.monetary == [str(v) for v in found.monetary]

    small = (await make_store("custom", name="Small")).store
    assert (await services.refresh_cutoffs(small, now)).currency is None  # the defaults


async def test_identify_traits_set_and_replace_a_contacts_tags(client, run_jobs):
    store = (await make_store("custom", domain="shop.example.com")).store

    async def identify(traits):
        body = {"type": "identify", "userId": "u-1", "anonymousId": "a-1", "traits": traits}
        response = await client.post(
            f"/collect/v1/events?key={store.publishable_key}",
            json=body,
            headers={"Origin": "https://shop.example.com"},
        )
        assert response.status_code == 202, response.text
        await run_jobs()
        contact = await Contact.get(store=store, email="ada@example.com")
        rows = (
            await ContactTag.filter(contact=contact).order_by("tag").values_list("tag", flat=True)
        )
        return contact.tags, list(rows)

    assert await identify({"email": "ada@example.com", "tags": ["VIP", " Gold "]}) == (
        ["gold", "vip"],
        ["gold", "vip"],
    )
    assert await identify({"email": "ada@example.com"}) == (["gold", "vip"], ["gold", "vip"])
    assert await identify({"email": "ada@example.com", "tags": "wholesale"}) == (
        ["wholesale"],
        ["wholesale"],
    )
    assert await identify({"email": "ada@example.com", "tags": []}) == ([], [])


async def test_a_store_deleted_with_segments_in_use_goes_whole(api):
    """shop/redact deletes the store: its flows, steps and segments go in one statement's cascade,
    the segments' references from flows and steps notwithstanding (NO ACTION, not RESTRICT)."""
    store, _ = api
    segment = await Segment.create(store=store, name="VIP", conditions={"tags_any": ["vip"]})
    flow = await Flow.create(store=store, name="Carts", segment=segment)
    await FlowStep.create(
        flow=flow, position=0, channel="email", delay_seconds=0, segment=segment, variants=[]
    )
    kept = await make_store("custom", name="Kept")
    await Store.filter(id=store.id).delete()
    assert not await Store.exists(id=store.id)
    assert not await Segment.exists() and not await Flow.filter(store_id=store.id).exists()
    assert await Store.exists(id=kept.store.id)

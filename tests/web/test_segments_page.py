"""The segments section of /flows: add, edit and delete segments with forms, refusals in words,
each segment's count of matching contacts, and the live count through the page's session."""

from __future__ import annotations

from decimal import Decimal

from app.accounts.models import Role
from app.checkouts.models import Contact, ContactHistory
from app.recovery.models import Flow, Segment
from tests.factories import make_store
from tests.web.conftest import csrf_from, login_as


async def _page(client):
    issued = await make_store("woocommerce", name="Tidewater Teas")
    await login_as(client, issued.store, Role.OWNER)
    page = await client.get("/flows")
    assert page.status_code == 200 and 'id="segments"' in page.text
    return issued.store, csrf_from(page.text)


async def test_add_edit_and_delete_a_segment_with_the_form(client):
    store, csrf = await _page(client)
    for i, spent in enumerate(("20", "150", "600")):
        contact = await Contact.create(store=store, email=f"c{i}@example.com")
        await ContactHistory.create(
            store=store, contact=contact, orders_count=1, total_spent=Decimal(spent), currency="USD"
        )
    added = await client.post(
        "/flows/segments",
        data={
            "csrf_token": csrf,
            "name": "Big spenders",
            "spent_min": "100.00",
            "orders_min": "1",
            "subscribed": "",
            "tags_any": "",
            "groups": ["champions", "promising"],
        },
    )
    assert added.status_code == 303, added.text
    segment = await Segment.get(store=store)
    assert segment.conditions == {
        "orders_count": {"min": 1},
        "total_spent": {"min": "100.00", "currency": "USD"},
        "rfm_groups": ["champions", "promising"],
    }
    page = (await client.get("/flows")).text
    assert "Big spenders" in page and "spent at least 100.00 USD" in page
    assert "Champions, Promising" in page

    edit = (await client.get(f"/flows?segment={segment.id}")).text
    assert 'value="100.00"' in edit and "Edit segment" in edit
    changed = await client.post(
        "/flows/segments",
        data={"csrf_token": csrf, "segment_id": str(segment.id), "name": "Big", "spent_min": "500"},
    )
    assert changed.status_code == 303
    page = (await client.get("/flows")).text
    assert '<td data-testid="segment-count">1</td>' in page  # only the 600 spender

    flow = await Flow.get(store=store)
    flow.segment_id = segment.id
    await flow.save()
    kept = await client.post(f"/flows/segments/{segment.id}/delete", data={"csrf_token": csrf})
    assert kept.status_code == 409 and "is used by" in kept.text
    flow.segment_id = None
    await flow.save()
    gone = await client.post(f"/flows/segments/{segment.id}/delete", data={"csrf_token": csrf})
    assert gone.status_code == 303 and not await Segment.exists()


async def test_a_refused_form_says_which_field_in_words_and_keeps_what_was_typed(client):
    _, csrf = await _page(client)
    refused = await client.post(
        "/flows/segments",
        data={"csrf_token": csrf, "name": "Odd", "spent_min": "-5", "tags_any": "vip, gold"},
    )
    assert refused.status_code == 422
    assert "Total spent (at least): must be between 0 and" in refused.text
    assert 'value="vip, gold"' in refused.text and 'value="-5"' in refused.text
    assert not await Segment.exists()
    shopper_text = await client.post(
        "/flows/segments",
        data={"csrf_token": csrf, "name": "<script>x</script>", "countries": "Germany"},
    )
    assert shopper_text.status_code == 422 and "<script>x</script>" not in shopper_text.text
    assert "Countries: two-letter country codes" in shopper_text.text


async def test_the_live_count_answers_the_page_with_its_csrf_header(client):
    store, csrf = await _page(client)
    await Contact.create(store=store, email="a@example.com", country="DE")
    body = {"conditions": {"countries": ["de"]}}
    assert (await client.post("/api/v1/segments/count", json=body)).status_code == 403
    counted = await client.post("/api/v1/segments/count", json=body, headers={"X-CSRF-Token": csrf})
    assert counted.json() == {"matching": 1}

"""Several flows per store over /api/v1/flows: create, list, update, enable/disable, delete, each
with a trigger from the catalogue; today's single-flow clients keep working."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from app.recovery.models import EnrollmentStatus, Flow
from tests.factories import make_store
from tests.recovery.conftest import abandoned

WELCOME_BACK = {
    "channel": "email",
    "delay_seconds": 0,
    "variants": [
        {
            "subject": "We miss you at {{ store_name }}",
            "body": "Hi {{ first_name or 'there' }}, it has been a while.",
        }
    ],
}


@pytest.fixture
async def api(settings):
    issued = await make_store("woocommerce", sms_number="+14155550100", name="Tidewater Teas")
    return issued.store, {"Authorization": f"Bearer {issued.api_token}"}


async def test_create_list_patch_and_delete_flows(client, api):
    store, headers = api
    [default] = (await client.get("/api/v1/flows", headers=headers)).json()
    assert (default["trigger"], default["trigger_params"], default["transactional"]) == (
        "checkout.abandoned",
        {},
        False,
    )
    body = {
        "name": "Win back",
        "trigger": "contact.lapsed",
        "trigger_params": {"days": 60},
        "steps": [WELCOME_BACK],
    }
    created = await client.post("/api/v1/flows", json=body, headers=headers)
    assert created.status_code == 201, created.text
    lapsed = created.json()
    assert (lapsed["trigger"], lapsed["trigger_params"], lapsed["enabled"]) == (
        "contact.lapsed",
        {"days": 60},
        True,
    )
    pending = await client.post(
        "/api/v1/flows",
        json={"name": "Pay", "trigger": "order.payment_pending", "steps": [WELCOME_BACK]},
        headers=headers,
    )
    assert pending.json()["transactional"] is True  # the trigger's own default
    listed = (await client.get("/api/v1/flows", headers=headers)).json()
    assert [f["name"] for f in listed] == [default["name"], "Win back", "Pay"]

    off = await client.patch(
        f"/api/v1/flows/{lapsed['id']}", json={"enabled": False}, headers=headers
    )
    assert off.status_code == 200 and off.json()["enabled"] is False
    assert off.json()["trigger_params"] == {"days": 60}  # a patch leaves the rest as it was
    spend = await client.patch(
        f"/api/v1/flows/{lapsed['id']}",
        json={"trigger": "contact.total_spent_reached", "trigger_params": {"amount": "500.00"}},
        headers=headers,
    )
    assert spend.json()["trigger_params"] == {"amount": "500.00"}

    gone = await client.delete(f"/api/v1/flows/{lapsed['id']}", headers=headers)
    assert gone.status_code == 204
    assert await Flow.filter(store=store).count() == 2
    again = await client.delete(f"/api/v1/flows/{lapsed['id']}", headers=headers)
    assert again.status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"trigger": "cart.forgotten"}, "trigger: unknown trigger 'cart.forgotten'"),
        (
            {"trigger": "contact.lapsed", "trigger_params": {"days": 0}},
            "trigger_params.days: must be between 1 and 3650",
        ),
        (
            {"trigger": "contact.lapsed", "trigger_params": {"days": "soon"}},
            "trigger_params.days: must be a number",
        ),
        (
            {"trigger": "contact.lapsed", "trigger_params": {"weeks": 3}},
            "trigger_params.weeks: contact.lapsed takes no 'weeks' (allowed: days)",
        ),
        (
            {"trigger": "contact.total_spent_reached", "trigger_params": {"amount": "-5"}},
            "trigger_params.amount: must be between 0.01 and",
        ),
        (
            {"trigger": "contact.birthday", "trigger_params": {"days": 3}},
            "trigger_params.days: contact.birthday takes no 'days' (allowed: none)",
        ),
        ({"name": "  "}, "name: must be 1 to 255 characters"),
        (
            {"steps": [dict(WELCOME_BACK, delay_seconds=-1)]},
            "steps[0].delay_seconds must be between 0 and",
        ),
    ],
)
async def test_bad_flows_are_refused_naming_the_field_and_nothing_is_stored(
    client, api, body, message
):
    store, headers = api
    await client.get("/api/v1/flows", headers=headers)  # the default flow exists
    full = {"name": "New", "steps": [WELCOME_BACK], **body}
    response = await client.post("/api/v1/flows", json=full, headers=headers)
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith(message)
    assert await Flow.filter(store=store).count() == 1


async def test_flows_are_scoped_to_their_store(client, api):
    _, headers = api
    other = await make_store("custom", name="Other")
    theirs = (
        await client.get("/api/v1/flows", headers={"Authorization": f"Bearer {other.api_token}"})
    ).json()[0]
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/api/v1/flows/{theirs['id']}",
            headers=headers,
            json={} if method == "PATCH" else None,
        )
        assert response.status_code == 404, method
    assert await Flow.filter(id=theirs["id"]).exists()


async def test_abandoned_checkouts_enter_only_checkout_flows(client, api, settings):
    store, headers = api
    [default] = (await client.get("/api/v1/flows", headers=headers)).json()
    lapsed = await client.post(
        "/api/v1/flows",
        json={"name": "Win back", "trigger": "contact.lapsed", "steps": [WELCOME_BACK]},
        headers=headers,
    )
    assert lapsed.status_code == 201
    _, enrollment = await abandoned(store, datetime.now(UTC))
    assert enrollment is not None and enrollment.flow_id == default["id"]
    # Deleting the flow stops its live sequence; the enrollment stays for the results.
    assert (
        await client.delete(f"/api/v1/flows/{default['id']}", headers=headers)
    ).status_code == 204
    await enrollment.refresh_from_db()
    assert (enrollment.status, enrollment.stop_reason) == (EnrollmentStatus.STOPPED, "flow_deleted")
    # With only a lapsed flow left, a new abandonment enters nothing (and no default comes back).
    _, none = await abandoned(store, datetime.now(UTC), email="z@example.com", phone=None)
    assert none is None


async def test_flows_api_is_in_the_openapi_schema(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert {"get", "post"} <= set(schema["paths"]["/api/v1/flows"])
    assert {"get", "put", "patch", "delete"} <= set(schema["paths"]["/api/v1/flows/{flow_id}"])
    flow_in = schema["components"]["schemas"]["FlowIn"]["properties"]
    assert {"trigger", "trigger_params", "transactional"} <= set(flow_in)

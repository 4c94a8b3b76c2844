"""Results per flow and step, and each flow's recipients (pages and CSV), over two seeded flows."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

import msgspec
import pytest

from app.analytics import figures, jobs, period, sql
from app.core.timeutil import utcnow
from tests.analytics.flow_seed import seed_two_flows
from tests.factories import make_store


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _step(result: dict, number: int, channel: str) -> dict:
    return next(s for s in result["steps"] if s["step"] == number and s["channel"] == channel)


async def test_each_flow_and_step_has_its_own_figures(client):
    seeded = await seed_two_flows()
    response = await client.get("/api/v1/stats", headers=_auth(seeded.token))
    assert response.status_code == 200, response.text
    flows = {f["name"]: f for f in response.json()["flows"]}
    assert set(flows) == {"Default recovery", "Carts", "Win back"}  # every flow, idle ones too
    assert flows["Default recovery"]["entered"] == 0 and flows["Default recovery"]["steps"] == []

    carts = flows["Carts"]
    assert (carts["entered"], carts["holdout"], carts["sent"], carts["delivered"]) == (2, 0, 2, 2)
    assert (carts["clicked"], carts["replied"], carts["ordered"]) == (1, 1, 1)
    assert Decimal(carts["revenue"]) == Decimal("100.00") and carts["currency"] == "USD"
    models = carts["attribution"]
    assert [models[m]["orders"] for m in ("recovered", "click", "message")] == [1, 1, 1]
    first = _step(carts, 1, "email")
    assert (first["entered"], first["delivered"], first["clicked"], first["replied"]) == (
        1,
        1,
        1,
        1,
    )
    assert first["ordered"] == 1 and Decimal(first["revenue"]) == Decimal("100.00")
    second = _step(carts, 2, "sms")
    assert (second["delivered"], second["clicked"], second["ordered"]) == (1, 0, 0)

    # Win-back: an order with no checkout is credited by the message model, never "recovered".
    winback = flows["Win back"]
    assert (winback["entered"], winback["holdout"], winback["failed"]) == (3, 1, 1)
    step = _step(winback, 1, "email")
    assert (step["entered"], step["sent"], step["delivered"], step["failed"]) == (2, 1, 1, 1)
    assert step["ordered"] == 1 and Decimal(step["revenue"]) == Decimal("40.00")
    assert winback["attribution"]["recovered"]["orders"] == 0
    lift = winback["holdout_lift"]
    assert (lift["holdout_size"], lift["messaged_size"]) == (1, 2)


async def test_one_flow_picked_and_its_own_endpoint(client):
    seeded = await seed_two_flows()
    picked = await client.get(
        f"/api/v1/stats?flow={seeded.winback.id}", headers=_auth(seeded.token)
    )
    assert [f["name"] for f in picked.json()["flows"]] == ["Win back"]
    one = await client.get(
        f"/api/v1/flows/{seeded.winback.id}/results", headers=_auth(seeded.token)
    )
    assert one.status_code == 200 and one.json() == picked.json()["flows"][0]
    sms = await client.get(
        f"/api/v1/flows/{seeded.carts.id}/results?channel=sms", headers=_auth(seeded.token)
    )
    assert [s["channel"] for s in sms.json()["steps"]] == ["sms"]
    assert sms.json()["ordered"] == 0  # the order followed the email, not the SMS


async def test_another_stores_flow_is_not_found(client):
    seeded = await seed_two_flows()
    other = await make_store("custom", name="Elsewhere")
    for url in (
        f"/api/v1/stats?flow={seeded.carts.id}",
        f"/api/v1/flows/{seeded.carts.id}/results",
        f"/api/v1/flows/{seeded.carts.id}/recipients",
        f"/api/v1/flows/{seeded.carts.id}/recipients.csv",
    ):
        response = await client.get(url, headers=_auth(other.api_token))
        assert response.status_code == 404, url
        assert "flow" in response.json()["detail"]


async def test_recipients_page_by_cursor(client):
    seeded = await seed_two_flows()
    base = f"/api/v1/flows/{seeded.carts.id}/recipients"
    first = (await client.get(f"{base}?limit=1", headers=_auth(seeded.token))).json()
    assert len(first["recipients"]) == 1 and first["next_cursor"]
    cursor = first["next_cursor"]
    second = (
        await client.get(f"{base}?limit=1&cursor={cursor}", headers=_auth(seeded.token))
    ).json()
    assert second["next_cursor"] is None
    rows = first["recipients"] + second["recipients"]
    assert [r["channel"] for r in rows] == ["sms", "email"]  # newest first
    bought = rows[1]
    assert bought["clicked"] and bought["ordered"] == 1
    assert Decimal(bought["revenue"]) == Decimal("100.00") and bought["currency"] == "USD"
    assert bought["to"] == "shopper1@example.com" and bought["step"] == 1
    assert rows[0]["ordered"] == 0 and not rows[0]["clicked"]
    only = (await client.get(f"{base}?step=2", headers=_auth(seeded.token))).json()
    assert [r["step"] for r in only["recipients"]] == [2]


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("cursor=nonsense", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("step=0", "step"),
    ],
)
async def test_bad_recipient_queries_say_which_parameter(client, query, field):
    seeded = await seed_two_flows()
    response = await client.get(
        f"/api/v1/flows/{seeded.carts.id}/recipients?{query}", headers=_auth(seeded.token)
    )
    assert response.status_code == 400
    assert response.json()["detail"].startswith(field)


async def test_recipients_csv_streams_every_row_spreadsheet_safe(client):
    seeded = await seed_two_flows()
    response = await client.get(
        f"/api/v1/flows/{seeded.carts.id}/recipients.csv", headers=_auth(seeded.token)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert [r["channel"] for r in rows] == ["sms", "email"]
    bought = rows[1]
    assert bought["name"] == '\'=HYPERLINK("x")'  # a formula is never live in a spreadsheet
    assert (bought["clicked"], bought["ordered"], bought["revenue"]) == ("True", "1", "100.00")
    assert bought["currency"] == "USD"


@pytest.mark.postgres_only("the rollups are built on PostgreSQL only")
async def test_rolled_up_flow_results_equal_raw(settings):
    seeded = await seed_two_flows()
    await jobs.cover(seeded.store)
    assert await jobs.build(seeded.store, limit=1000) > 0
    assert sql.is_postgres()
    now = utcnow()
    for channel in (None, "sms", "email"):
        rng = period.parse_range(seeded.store, now, None, None, channel)
        rolled = await figures.compute(seeded.store, rng, now)
        raw = await figures.compute(seeded.store, rng, now, use_rollups=False)
        assert msgspec.to_builtins(rolled.flows) == msgspec.to_builtins(raw.flows), channel
    rng = period.parse_range(seeded.store, now, None, None, None)
    flows = {f.name: f for f in (await figures.compute(seeded.store, rng, now)).flows}
    assert flows["Carts"].replied == 1 and flows["Win back"].ordered == 1


async def test_a_deleted_flows_results_stay_under_deleted_flows(client):
    seeded = await seed_two_flows()
    if sql.is_postgres():  # rolled up while the flow existed: the rollup still names it
        await jobs.cover(seeded.store)
        await jobs.build(seeded.store, limit=1000)
    gone = await client.delete(f"/api/v1/flows/{seeded.winback.id}", headers=_auth(seeded.token))
    assert gone.status_code == 204
    flows = {
        f["name"]: f
        for f in (await client.get("/api/v1/stats", headers=_auth(seeded.token))).json()["flows"]
    }
    assert "Win back" not in flows
    deleted = flows["Deleted flows"]
    assert deleted["flow_id"] is None and deleted["entered"] == 3 and deleted["ordered"] == 1
    assert flows["Carts"]["ordered"] == 1


async def test_the_new_endpoints_are_in_the_openapi_schema(client):
    paths = (await client.get("/schema/openapi.json")).json()["paths"]
    for path, method in (
        ("/api/v1/flows/{flow_id}/results", "get"),
        ("/api/v1/flows/{flow_id}/recipients", "get"),
        ("/api/v1/flows/{flow_id}/recipients.csv", "get"),
        ("/api/v1/flows/{flow_id}/steps/{step}/promote", "post"),
        ("/api/v1/flows/{flow_id}/auto-promote", "put"),
        ("/api/v1/flows/{flow_id}/promotions", "get"),
    ):
        assert method in paths[path], path
    stats = paths["/api/v1/stats"]["get"]["parameters"]
    assert "flow" in {p["name"] for p in stats}

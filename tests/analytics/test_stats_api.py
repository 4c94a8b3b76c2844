"""Stats over HTTP: the API and the dashboard tell the same truth about a hand-built month."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from app.accounts.models import Role
from tests.analytics.conftest import login_as
from tests.analytics.seed import seed_store


async def test_api_figures_for_a_seeded_store(client):
    seeded = await seed_store()
    response = await client.get(
        "/api/v1/stats", headers={"Authorization": f"Bearer {seeded.token}"}
    )
    assert response.status_code == 200, response.text
    s = response.json()
    a = s["attribution"]
    assert (a["recovered"]["orders"], Decimal(a["recovered"]["revenue"])) == (2, Decimal("150.00"))
    assert (a["click"]["orders"], a["message"]["orders"], a["discount"]["orders"]) == (1, 1, 1)
    assert a["total"]["orders"] == 3 and Decimal(a["total"]["revenue"]) == Decimal("230.00")
    assert a["excluded_orders"] == 1
    f = s["funnel"]
    assert (f["abandoned"], f["enrolled"], f["holdout"], f["messaged"], f["clicked"]) == (
        5,
        4,
        1,
        3,
        1,
    )
    assert f["reachable"] == 5 and f["recovered"] == 2
    assert abs(f["recovery_rate"] - 2 / 3) < 1e-9
    channels = {c["channel"]: c for c in s["channels"]}
    assert channels["sms"] == {
        "channel": "sms",
        "sent": 1,
        "delivered": 1,
        "failed": 0,
        "segments": 2,
        "clicks": 0,
        "replies": 1,
    }
    assert (
        channels["email"]["sent"] == 3
        and channels["email"]["failed"] == 1
        and channels["email"]["clicks"] == 1
    )
    money = s["money"]
    # 2 SMS segments at 0.0079 + 2 billable emails at 0.0010 (the failed one is not billed)
    assert Decimal(money["cost"]) == Decimal("0.0178")
    assert Decimal(money["roi"]) == (Decimal("150") / Decimal("0.0178")).quantize(Decimal("0.01"))
    h = s["holdout"]
    assert (h["holdout_size"], h["holdout_conversions"], h["messaged_size"]) == (1, 1, 4)
    assert h["messaged_conversions"] == 2  # the refunded order does not convert
    assert s["conversations"] == {
        "conversations": 1,
        "shopper_replies": 1,
        "agent_replies": 1,
        "answered": 1,
        "converted": 1,
    }
    products = {p["title"]: p for p in s["top_products"]}
    assert products["Linen shirt"]["abandoned"] == 5 and products["Canvas tote"]["quantity"] == 10
    assert s["time_to_recovery"]["count"] == 2
    steps = {r["step"]: r for r in s["steps"]}
    assert steps[1]["conversions"] == 2 and Decimal(steps[1]["revenue"]) == Decimal("150.00")
    assert sum(r["recovered"] for r in s["daily"]) == 2
    assert {v["variant"] for v in s["variants"]} == {"a", "b"}
    assert not any(v["winner"] for v in s["variants"])  # 3 sends is no sample


async def test_channel_filter_and_bad_input(client):
    seeded = await seed_store()
    auth = {"Authorization": f"Bearer {seeded.token}"}
    sms = (await client.get("/api/v1/stats?channel=sms", headers=auth)).json()
    assert [c["channel"] for c in sms["channels"]] == ["sms"]
    assert sms["attribution"]["message"]["orders"] == 0  # the only in-window message was email
    assert (await client.get("/api/v1/stats?channel=fax", headers=auth)).status_code == 400
    bad = await client.get("/api/v1/stats?from=2026-03-10&to=2026-03-01", headers=auth)
    assert bad.status_code == 400 and "before" in bad.json()["detail"]
    assert (
        await client.get("/api/v1/stats?from=2020-01-01&to=2026-01-01", headers=auth)
    ).status_code == 400
    assert (await client.get("/api/v1/stats")).status_code == 401


async def test_stats_are_scoped_to_the_store(client):
    seeded = await seed_store()
    from tests.factories import make_store

    other = await make_store("custom")
    response = await client.get(
        "/api/v1/stats", headers={"Authorization": f"Bearer {other.api_token}"}
    )
    assert response.json()["attribution"]["total"]["orders"] == 0
    assert seeded.store.id != other.store.id


async def test_period_outside_the_activity_is_empty(client):
    seeded = await seed_store(days_ago=40)
    auth = {"Authorization": f"Bearer {seeded.token}"}
    s = (await client.get("/api/v1/stats", headers=auth)).json()
    assert s["funnel"]["abandoned"] == 0 and s["attribution"]["total"]["orders"] == 0
    assert len(s["daily"]) == 30


async def test_dashboard_page_shows_the_api_numbers(client):
    seeded = await seed_store()
    api = (
        await client.get("/api/v1/stats", headers={"Authorization": f"Bearer {seeded.token}"})
    ).json()
    await login_as(client, seeded.store, Role.OWNER)
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert "$150.00" in page.text and api["attribution"]["recovered"]["revenue"] == "150.00"
    assert 'data-testid="tile-abandoned">5<' in page.text
    assert (
        "<svg" in page.text
        and "frame-ancestors https://velvet-fern-goods.myshopify.com https://admin.shopify.com"
        in page.headers["content-security-policy"]
    )
    session_json = await client.get("/dashboard/stats.json")
    assert session_json.json() == api


async def test_csv_exports_every_table(client):
    seeded = await seed_store()
    await login_as(client, seeded.store, Role.ADMIN)
    from app.analytics.controllers import TABLES

    for table in TABLES:
        response = await client.get(f"/dashboard/export/{table}.csv")
        assert response.status_code == 200, table
        assert response.headers["content-type"].startswith("text/csv")
        rows = list(csv.DictReader(io.StringIO(response.text)))
        assert rows, table
    models = {
        r["model"]: r
        for r in csv.DictReader(
            io.StringIO((await client.get("/dashboard/export/attribution.csv")).text)
        )
    }
    assert models["recovered"]["revenue"] == "150.00"
    assert (await client.get("/dashboard/export/secrets.csv")).status_code == 404


async def test_agents_get_403_and_strangers_go_to_login(client):
    seeded = await seed_store()
    for path in ("/dashboard", "/dashboard/export/funnel.csv"):
        response = await client.get(path)
        assert response.status_code == 303 and response.headers["location"].startswith("/login")
    assert (await client.get("/")).headers["location"] == "/login"
    await login_as(client, seeded.store, Role.AGENT)
    for path in ("/dashboard", "/dashboard/export/funnel.csv", "/dashboard/stats.json"):
        assert (await client.get(path)).status_code == 403, path
    assert (await client.get("/")).headers["location"] == "/inbox"


async def test_empty_state_explains_the_install_tag(client):
    from tests.factories import make_store

    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert "/static/followup.js" in page.text and issued.store.publishable_key in page.text
    assert page.headers["x-frame-options"] == "DENY"
    assert (await client.get("/")).headers["location"] == "/dashboard"

"""The dashboard page and its CSV downloads tell the API's truth about a hand-built month."""

from __future__ import annotations

import csv
import io
from decimal import Decimal

from app.accounts.models import Role
from app.analytics.exports import TABLES
from tests.analytics.seed import seed_store
from tests.web.conftest import login_as


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
    assert (await client.get("/api/v1/stats")).json() == api  # the page's session is enough
    session_json = await client.get("/dashboard/stats.json", follow_redirects=True)
    assert session_json.json() == api  # the old address still answers


async def test_csv_exports_every_table(client):
    seeded = await seed_store()
    await login_as(client, seeded.store, Role.ADMIN)
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
    assert (await client.get("/api/v1/stats")).status_code == 403  # revenue is for managers
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


async def test_a_cost_under_a_cent_and_a_large_roi_read_plainly(client):
    """A few emails at a tenth of a cent against real revenue: the cost tile said $0.00 beside
    an ROI of 150000.00x. The cost now reads 'under $0.01' and the ROI has its thousands marked."""
    seeded = await seed_store()
    seeded.store.settings = {
        **(seeded.store.settings or {}),
        "prices": {"sms_segment": "0", "email": "0.0001"},
    }
    await seeded.store.save()
    api = (
        await client.get("/api/v1/stats", headers={"Authorization": f"Bearer {seeded.token}"})
    ).json()
    cost, roi = Decimal(api["money"]["cost"]), Decimal(api["money"]["roi"])
    assert 0 < cost < Decimal("0.01") and roi >= 1000
    await login_as(client, seeded.store, Role.OWNER)
    page = (await client.get("/dashboard")).text
    assert 'data-testid="tile-cost">under $0.01<' in page
    assert f'data-testid="tile-roi">{roi:,.0f}×<' in page

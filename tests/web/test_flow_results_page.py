"""The dashboard's flow picker: every flow's row, one flow's steps and recipients, and the
one-click promotion of an A/B winner (logged on the flow's page)."""

from __future__ import annotations

import re

from app.accounts.models import Role
from app.recovery.models import FlowStep, Promotion
from tests.analytics.flow_seed import seed_two_flows
from tests.recovery.test_promotion import _flow, _sends
from tests.web.conftest import csrf_from, login_as


async def test_all_flows_then_one_flow_with_its_recipients(client):
    seeded = await seed_two_flows()
    await login_as(client, seeded.store, Role.OWNER)
    page = await client.get("/dashboard")
    assert page.status_code == 200
    assert page.text.count('data-testid="flow-row"') == 3
    assert f'href="/dashboard?flow={seeded.winback.id}' in page.text
    assert "Win back a lapsed customer" in page.text  # the trigger in words, not its code
    assert "contact.lapsed" not in page.text.split('id="results"')[1].split("</section>")[0]

    one = await client.get(f"/dashboard?flow={seeded.carts.id}")
    assert 'data-testid="picked-flow">Carts<' in one.text
    assert 'data-testid="recipients"' in one.text and "shopper1@example.com" in one.text
    assert "=HYPERLINK(&#34;x&#34;)" in one.text  # the shopper's name, escaped
    assert f"/api/v1/flows/{seeded.carts.id}/recipients.csv" in one.text
    csv = await client.get(f"/api/v1/flows/{seeded.carts.id}/recipients.csv")
    assert csv.status_code == 200 and "shopper1@example.com" in csv.text  # the session suffices
    assert (await client.get("/dashboard?flow=999999")).status_code == 404


async def test_promote_in_one_click_then_the_flow_page_shows_it(client):
    seeded = await seed_two_flows()
    flow = await _flow(seeded.store)
    await _sends(seeded.store, flow, {"a": (120, 6), "b": (120, 40)})
    await login_as(client, seeded.store, Role.OWNER)
    page = await client.get(f"/dashboard?flow={flow.id}")
    assert page.text.count('data-testid="promote"') == 1
    form = {
        "csrf_token": csrf_from(page.text),
        "flow": str(flow.id),
        "step": "1",
        "variant": "b",
        "from": "",
        "to": "",
        "channel": "",
    }
    done = await client.post("/dashboard/promote", data=form)
    assert done.status_code == 303 and f"flow={flow.id}" in done.headers["location"]
    made = await Promotion.get(flow=flow)
    assert made.actor == f"owner@{seeded.store.domain}" and not made.automatic
    assert (await FlowStep.get(flow=flow)).promoted_variant == "b"
    after = await client.get(f"/dashboard?flow={flow.id}")
    assert "promoted</span>" in after.text and 'data-testid="promote"' not in after.text
    again = await client.post("/dashboard/promote", data=form)
    assert again.status_code == 409 and "promoted already" in again.text

    flows_page = await client.get(f"/flows?flow={flow.id}")
    log = re.search(r'data-testid="promotions">(.*?)</section>', flows_page.text, re.S)
    assert log and "b" in log.group(1) and f"owner@{seeded.store.domain}" in log.group(1)

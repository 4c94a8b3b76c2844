"""The stats API over a hand-built month: figures, filters, bad input, store scoping."""

from __future__ import annotations

import asyncio
from decimal import Decimal

from app.analytics import figures
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


async def test_dashboards_asking_at_once_share_one_computation(client):
    """Ten dashboards of one store (a live update reaches them together) and two of another:
    each store's figures are computed about once, everyone gets the same answer, and a viewer
    who leaves mid-way does not cancel the others' answer."""
    seeded = await seed_store()
    from tests.factories import make_store

    other = await make_store("custom")
    mine = {"Authorization": f"Bearer {seeded.token}"}
    theirs = {"Authorization": f"Bearer {other.api_token}"}
    started, _ = figures.computations()
    leaving = asyncio.create_task(client.get("/api/v1/stats", headers=mine))
    asks = [client.get("/api/v1/stats", headers=mine) for _ in range(10)]
    asks += [client.get("/api/v1/stats", headers=theirs) for _ in range(2)]
    await asyncio.sleep(0)
    leaving.cancel()
    answers = await asyncio.gather(*asks)
    assert all(a.status_code == 200 for a in answers)
    assert len({a.text for a in answers[:10]}) == 1
    assert answers[0].json()["attribution"]["total"]["orders"] == 3
    assert answers[-1].json()["attribution"]["total"]["orders"] == 0
    assert figures.computations()[0] - started <= 4  # one per store, a straggler or two at most
    assert figures.computations()[1] == 0

"""A/B winners applied: the merchant's click (z-test), the worker's rule (500 per variant, 90 %),
not before the figures allow it, logged, and once under two workers at the same moment."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest

from app.analytics import measures
from app.analytics.promotion import promote_store, promote_winners
from app.checkouts.models import Checkout
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery import rules
from app.recovery.flows import ordered_steps
from app.recovery.models import Enrollment, Flow, FlowStep, Promotion
from app.stores.models import Store
from tests.factories import make_store

VARIANTS = [
    {"key": "a", "weight": "1", "subject": "A", "body": "Your cart"},
    {"key": "b", "weight": "1", "subject": "B", "body": "Still thinking?"},
]


async def _flow(store: Store, **kw: object) -> Flow:
    flow = await Flow.create(store=store, name="Test flow", **kw)
    await FlowStep.create(
        flow=flow, position=0, channel="email", delay_seconds=3600, variants=VARIANTS
    )
    return flow


async def _sends(store: Store, flow: Flow, arms: dict[str, tuple[int, int]]) -> None:
    """`arms`: variant -> (sends, of which recovered after the send), all of step 1, by email."""
    t = utcnow() - timedelta(days=2)
    for variant, (sent, won) in arms.items():
        carts = await Checkout.bulk_create(
            [
                Checkout(
                    store=store,
                    platform="shopify",
                    token=uuid.uuid4().hex,
                    email=f"{variant}{i}@example.com",
                    total=Decimal("50"),
                    last_activity_at=t,
                    abandoned_at=t,
                    status="recovered" if i < won else "abandoned",
                    completed_at=t + timedelta(hours=2) if i < won else None,
                )
                for i in range(sent)
            ]
        )
        carts = await Checkout.filter(store=store, email__startswith=variant).order_by("id")
        await Enrollment.bulk_create(
            [Enrollment(store=store, checkout=c, flow=flow, abandoned_at=t) for c in carts]
        )
        enrolled = {e.checkout_id: e.id for e in await Enrollment.filter(flow=flow)}
        await Message.bulk_create(
            [
                Message(
                    store=store,
                    checkout=c,
                    enrollment_id=enrolled[c.id],
                    step_index=0,
                    variant=variant,
                    channel="email",
                    direction="outbound",
                    author="automation",
                    to_address=c.email,
                    body="x",
                    status="sent",
                    sent_at=t + timedelta(hours=1),
                    idempotency_key=uuid.uuid4().hex,
                )
                for c in carts
            ]
        )


def _auth(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def test_the_merchant_promotes_a_significant_winner_in_one_call(client):
    issued = await make_store("shopify", name="AB Store")
    flow = await _flow(issued.store)
    await _sends(issued.store, flow, {"a": (120, 6), "b": (120, 40)})
    url = f"/api/v1/flows/{flow.id}/steps/1/promote"
    wrong = await client.post(url, json={"variant": "a"}, headers=_auth(issued.api_token))
    assert wrong.status_code == 409 and "names variant b" in wrong.json()["detail"]
    done = await client.post(url, json={"variant": "b"}, headers=_auth(issued.api_token))
    assert done.status_code == 201, done.text
    made = done.json()
    assert (made["winner"], made["retired"], made["automatic"]) == ("b", ["a"], False)
    assert (made["actor"], made["rule"], made["step"]) == ("API token", "z-test", 1)
    assert {(f["variant"], f.get("sent")) for f in made["figures"] if "sent" in f} == {
        ("a", 120),
        ("b", 120),
    }
    step = await FlowStep.get(flow=flow, position=0)
    assert step.promoted_variant == "b"
    assert [(v["key"], v["weight"]) for v in step.variants] == [("a", "0"), ("b", "1")]
    steps = await ordered_steps(flow.id)  # the send path sees the change at once
    assert all(rules.pick_variant(steps[0].variants, f"seed{i}")["key"] == "b" for i in range(50))
    again = await client.post(url, json={"variant": "b"}, headers=_auth(issued.api_token))
    assert again.status_code == 409 and "promoted already" in again.json()["detail"]
    log = await client.get(f"/api/v1/flows/{flow.id}/promotions", headers=_auth(issued.api_token))
    assert [p["winner"] for p in log.json()] == ["b"]


async def test_no_promotion_before_the_test_names_a_winner(client):
    issued = await make_store("shopify", name="AB Store")
    flow = await _flow(issued.store)
    await _sends(issued.store, flow, {"a": (30, 1), "b": (30, 12)})  # below the minimum sample
    url = f"/api/v1/flows/{flow.id}/steps/1/promote"
    response = await client.post(url, json={"variant": "b"}, headers=_auth(issued.api_token))
    assert response.status_code == 409
    assert response.json()["detail"].startswith("variant: no winner yet")
    assert await Promotion.filter(flow=flow).count() == 0
    assert (await FlowStep.get(flow=flow)).promoted_variant is None
    for body, status, field in (
        ({"variant": "z"}, 422, "variant"),
        ({"variant": "b", "extra": 1}, 400, ""),
    ):
        bad = await client.post(url, json=body, headers=_auth(issued.api_token))
        assert bad.status_code == status and field in bad.json()["detail"]
    missing = await client.post(
        f"/api/v1/flows/{flow.id}/steps/9/promote",
        json={"variant": "b"},
        headers=_auth(issued.api_token),
    )
    assert missing.status_code == 404 and "step" in missing.json()["detail"]
    other = await make_store("custom", name="Elsewhere")
    foreign = await client.post(url, json={"variant": "b"}, headers=_auth(other.api_token))
    assert foreign.status_code == 404


async def test_the_worker_promotes_only_flows_that_opted_in_and_only_at_500_and_90_percent(client):
    issued = await make_store("shopify", name="AB Store")
    store = issued.store
    flow = await _flow(store)
    await _sends(store, flow, {"a": (520, 52), "b": (520, 78)})
    assert await promote_store(store) == 0  # not opted in
    response = await client.put(
        f"/api/v1/flows/{flow.id}/auto-promote",
        json={"enabled": True},
        headers=_auth(issued.api_token),
    )
    assert response.json() == {"flow_id": flow.id, "auto_promote": True}
    assert await promote_winners({}) == 1
    made = await Promotion.get(flow=flow)
    assert (made.winner, made.automatic, made.actor, made.rule) == ("b", True, "worker", "klaviyo")
    assert any(f.get("probability", 0) >= 0.9 for f in made.figures)
    assert await promote_winners({}) == 0  # once


async def test_the_worker_waits_below_500_per_variant(settings):
    issued = await make_store("shopify", name="AB Store")
    flow = await _flow(issued.store, auto_promote=True)
    await _sends(issued.store, flow, {"a": (300, 10), "b": (300, 90)})  # clear, but too few
    assert await promote_store(issued.store) == 0
    assert (await FlowStep.get(flow=flow)).promoted_variant is None


async def test_two_workers_at_once_promote_once(settings):
    issued = await make_store("shopify", name="AB Store")
    flow = await _flow(issued.store, auto_promote=True)
    await _sends(issued.store, flow, {"a": (500, 40), "b": (500, 80)})
    done = await asyncio.gather(promote_store(issued.store), promote_store(issued.store))
    assert sorted(done) == [0, 1]
    assert await Promotion.filter(flow=flow).count() == 1


@pytest.mark.parametrize(
    ("a", "b", "winner"),
    [((500, 50), (500, 75), "b"), ((499, 10), (600, 90), None), ((500, 50), (500, 55), None)],
)
def test_klaviyo_rule(a, b, winner):
    arms = [measures.Arm("a", *a), measures.Arm("b", *b)]
    found = measures.auto_winner(arms)
    assert (found[0] if found else None) == winner
    if found:
        assert found[1] >= 0.9

"""Outbound webhooks end to end: REST subscription, signed delivery, retries, 410, SSRF."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from app.config import get_settings, use_settings
from app.core.outbox import OutboxEvent
from app.core.scheduling import schedule_dispatch
from app.hooks.models import DeliveryState, HookAttempt, HookDelivery, HookSubscription
from tests.conftest import make_settings
from tests.factories import make_store
from tests.hooks.conftest import abandoned_checkout


async def _subscribe(client: httpx.AsyncClient, token: str, url: str, event: str) -> dict:
    answer = await client.post(
        "/api/v1/hooks",
        json={"target_url": url, "event": event},
        headers={"Authorization": f"Bearer {token}"},
    )
    assert answer.status_code == 201, answer.text
    return answer.json()


async def _announce(queue, store) -> None:  # type: ignore[no-untyped-def]
    await abandoned_checkout(store)
    for event_id in await OutboxEvent.all().values_list("id", flat=True):
        await schedule_dispatch(queue, event_id)


async def test_an_abandoned_checkout_reaches_the_receiver_signed(
    client, queue, run_jobs, receiver
) -> None:
    fake, base = receiver
    issued = await make_store("custom")
    hook = await _subscribe(client, issued.api_token, f"{base}/zap", "checkout.abandoned")
    assert hook["secret"].startswith("whsec_") and hook["event"] == "checkout.abandoned"
    fake.secrets["/zap"] = hook["secret"]
    await _announce(queue, issued.store)
    await run_jobs()
    assert len(fake.requests) == 1
    got = fake.requests[0]
    assert got.verified, "the standardwebhooks library must accept the signature"
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.payload["type"] == "checkout.abandoned" and got.payload["version"] == 1
    data = got.payload["data"]
    assert data["checkout"]["total"] == "62.50" and data["contact"]["email"] == "c-1@example.com"
    assert data["checkout"]["line_items"][0]["unit_price"] == "31.25"
    delivery = await HookDelivery.get(subscription_id=hook["id"])
    assert delivery.state == DeliveryState.DELIVERED and delivery.last_status == 200
    assert delivery.webhook_id == got.headers["webhook-id"]


async def test_a_500_is_retried_with_the_same_webhook_id(client, queue, run_jobs, receiver) -> None:
    fake, base = receiver
    issued = await make_store("custom")
    hook = await _subscribe(client, issued.api_token, f"{base}/r", "checkout.abandoned")
    fake.secrets["/r"] = hook["secret"]
    fake.answer(500)
    await _announce(queue, issued.store)
    await run_jobs()
    delivery = await HookDelivery.get(subscription_id=hook["id"])
    assert delivery.state == DeliveryState.PENDING and delivery.last_status == 500
    assert delivery.next_attempt_at is not None
    # Time passes: the retry is due now (the schedule said 5 s); the sweep finds it in the database.
    await HookDelivery.filter(id=delivery.id).update(next_attempt_at=delivery.created_at)
    from app.hooks.jobs import hooks_sweep

    assert await hooks_sweep({"redis": queue}) == 1
    await run_jobs()
    assert [r.headers["x-answered"] for r in fake.requests] == ["500", "200"]
    ids = {r.headers["webhook-id"] for r in fake.requests}
    assert len(ids) == 1 and all(r.verified for r in fake.requests)
    await delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED and delivery.attempts == 2
    assert await HookAttempt.filter(delivery_id=delivery.id).count() == 2


async def test_410_unsubscribes_at_once(client, queue, run_jobs, receiver) -> None:
    fake, base = receiver
    issued = await make_store("custom")
    hook = await _subscribe(client, issued.api_token, f"{base}/gone", "checkout.abandoned")
    fake.answer(410)
    await _announce(queue, issued.store)
    await run_jobs()
    sub = await HookSubscription.get(id=hook["id"])
    assert not sub.active and "410" in (sub.disabled_reason or "")
    delivery = await HookDelivery.get(subscription_id=hook["id"])
    assert delivery.state == DeliveryState.FAILED and len(fake.requests) == 1


async def test_unsubscribe_and_scoping(client) -> None:
    one, other = await make_store("custom"), await make_store("woocommerce")
    hook = await _subscribe(client, one.api_token, "http://127.0.0.1:9/x", "message.sent")
    foreign = await client.delete(
        f"/api/v1/hooks/{hook['id']}", headers={"Authorization": f"Bearer {other.api_token}"}
    )
    assert foreign.status_code == 404
    gone = await client.delete(
        f"/api/v1/hooks/{hook['id']}", headers={"Authorization": f"Bearer {one.api_token}"}
    )
    assert gone.status_code == 204 and not await HookSubscription.exists(id=hook["id"])
    anonymous = await client.post("/api/v1/hooks", json={"target_url": "x", "event": "y"})
    assert anonymous.status_code == 401


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"target_url": "http://127.0.0.1/x", "event": "checkout.exploded"}, "unknown event"),
        ({"target_url": "ftp://example.com/x", "event": "message.sent"}, "http"),
        ({"target_url": "http://user:pw@example.com/", "event": "message.sent"}, "password"),
    ],
)
async def test_bad_subscriptions_get_422(client, body, needle) -> None:
    issued = await make_store("custom")
    answer = await client.post(
        "/api/v1/hooks", json=body, headers={"Authorization": f"Bearer {issued.api_token}"}
    )
    assert answer.status_code == 422 and needle in answer.text


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8080/hook",
        "http://localhost/hook",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
    ],
)
async def test_private_targets_are_refused_unless_allowed(client, url) -> None:
    issued = await make_store("custom")
    allowed = get_settings()
    use_settings(make_settings(FOLLOWUP_WEBHOOKS_ALLOW_PRIVATE="0"))
    try:
        answer = await client.post(
            "/api/v1/hooks",
            json={"target_url": url, "event": "checkout.abandoned"},
            headers={"Authorization": f"Bearer {issued.api_token}"},
        )
    finally:
        use_settings(allowed)
    assert answer.status_code == 422 and "private, loopback or link-local" in answer.text


async def test_samples_are_real_recent_payloads(client, receiver) -> None:
    issued = await make_store("custom")
    auth = {"Authorization": f"Bearer {issued.api_token}"}
    empty = await client.get("/api/v1/hooks/samples/checkout.abandoned", headers=auth)
    assert empty.status_code == 200 and empty.json() == []
    await abandoned_checkout(issued.store, "s-1")
    got = (await client.get("/api/v1/hooks/samples/checkout.abandoned", headers=auth)).json()
    assert got[0]["type"] == "checkout.abandoned"
    assert got[0]["data"]["checkout"]["token"] == "s-1"
    unknown = await client.get("/api/v1/hooks/samples/nope", headers=auth)
    assert unknown.status_code == 404


async def test_hooks_are_in_the_openapi_schema(client) -> None:
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/hooks" in schema["paths"] and "/api/v1/hooks/{hook_id}" in schema["paths"]
    assert "/api/v1/hooks/samples/{event}" in schema["paths"]


async def _fanned_out(
    client, queue, receiver, prefix: str, count: int
) -> tuple[OutboxEvent, list[int]]:
    """A store with `count` subscriptions to checkout.abandoned at `/{prefix}{n}`, one abandoned
    checkout, and its event fanned out to delivery rows (not yet posted)."""
    from app.hooks import services

    fake, base = receiver
    issued = await make_store("custom")
    for n in range(count):
        url = f"{base}/{prefix}{n}"
        hook = await _subscribe(client, issued.api_token, url, "checkout.abandoned")
        fake.secrets[f"/{prefix}{n}"] = hook["secret"]
    await abandoned_checkout(issued.store)
    [event] = await OutboxEvent.filter(name="checkout.abandoned")
    return event, await services.fan_out(event, queue)


async def test_a_fan_out_is_posted_by_one_job_and_racing_workers_post_each_delivery_once(
    client, queue, receiver
) -> None:
    """Twelve subscriptions: one `deliver_hooks` job for the fan-out; two workers running it at once
    (a duplicate job, a sweep) split the rows between them and the receiver sees each once."""
    from app.hooks import services

    fake, _ = receiver
    event, ids = await _fanned_out(client, queue, receiver, "s", 12)
    assert len(ids) == 12
    assert await queue.exists(f"arq:job:hooks:{event.id}:0")
    assert not await queue.exists(f"arq:job:hook:{ids[0]}:0")  # no job per delivery

    first, second = await asyncio.gather(
        services.deliver_many(ids, queue), services.deliver_many(ids, queue)
    )
    assert sorted(first + second) == ["delivered"] * 12
    assert sorted(r.path for r in fake.requests) == sorted(f"/s{n}" for n in range(12))
    assert all(r.verified for r in fake.requests)
    assert await services.deliver_many(ids, queue) == []  # nothing left to take
    states = await HookDelivery.filter(id__in=ids).values_list("state", "attempts", "last_status")
    assert set(states) == {(DeliveryState.DELIVERED, 1, 200)}
    assert await HookAttempt.filter(delivery_id__in=ids).count() == 12


async def test_deliveries_waiting_for_a_turn_renew_their_claim_and_are_all_posted(
    client, queue, receiver, monkeypatch
) -> None:
    """A burst larger than the posts a process allows in flight waits for turns, not for a pooled
    connection (no pool timeout); a delivery that waited renews its claim before posting."""
    from app.hooks import sender, services

    fake, _ = receiver
    _, ids = await _fanned_out(client, queue, receiver, "t", 10)
    monkeypatch.setitem(sender._gates, id(asyncio.get_running_loop()), asyncio.Semaphore(2))
    monkeypatch.setattr(services, "LOCK_MARGIN_SECONDS", -1)  # every post counts as having waited
    assert await services.deliver_many(ids, queue) == ["delivered"] * 10
    assert len(fake.requests) == 10 and all(r.verified for r in fake.requests)
    assert await HookDelivery.filter(id__in=ids, state=DeliveryState.DELIVERED).count() == 10

"""The settings page's Integrations section: add a webhook, read its delivery log, send again."""

from __future__ import annotations

from app.accounts.models import Role
from app.core.outbox import OutboxEvent
from app.core.scheduling import schedule_dispatch
from app.hooks.models import DeliveryState, HookDelivery, HookSubscription
from app.integrations.segment.models import SegmentDestination
from tests.factories import make_store
from tests.hooks.conftest import abandoned_checkout
from tests.web.conftest import csrf_from, login_as


async def test_a_manager_adds_a_webhook_reads_the_log_and_sends_again(
    client, queue, run_jobs, receiver
) -> None:
    fake, base = receiver
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/settings")).text)
    added = await client.post(
        "/settings/hooks",
        data={
            "csrf_token": csrf,
            "target_url": f"{base}/crm",
            "events": ["checkout.abandoned", "message.sent"],
        },
    )
    assert added.status_code == 303, added.text
    sub = await HookSubscription.get(store_id=issued.store.id)
    assert sub.events == ["checkout.abandoned", "message.sent"] and sub.source == "settings"
    fake.answer(503)
    await abandoned_checkout(issued.store, "log-1")
    for event_id in await OutboxEvent.all().values_list("id", flat=True):
        await schedule_dispatch(queue, event_id)
    await run_jobs()
    page = (await client.get("/settings")).text
    assert f'data-testid="hook-log-{sub.id}"' in page
    assert "checkout.abandoned" in page and "HTTP 503" in page and "log-1" in page
    delivery = await HookDelivery.get(subscription_id=sub.id)
    resent = await client.post(
        f"/settings/hooks/deliveries/{delivery.id}/resend", data={"csrf_token": csrf}
    )
    assert resent.status_code == 303
    await run_jobs()
    await delivery.refresh_from_db()
    assert delivery.state == DeliveryState.DELIVERED
    assert [r.headers["webhook-id"] for r in fake.requests] == [delivery.webhook_id] * 2


async def test_another_stores_delivery_cannot_be_resent_and_agents_cannot_manage(client) -> None:
    one, other = await make_store("custom"), await make_store("woocommerce")
    await login_as(client, other.store, Role.OWNER, "owner@other.example")
    csrf = csrf_from((await client.get("/settings")).text)
    sub = await HookSubscription.create(
        store_id=one.store.id,
        target_url="https://x.example/",
        events=["message.sent"],
        secret="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
        source="rest",
    )
    delivery = await HookDelivery.create(
        subscription_id=sub.id,
        store_id=one.store.id,
        event_id=1,
        event="message.sent",
        webhook_id="msg_x",
        payload={},
    )
    foreign = await client.post(
        f"/settings/hooks/deliveries/{delivery.id}/resend", data={"csrf_token": csrf}
    )
    assert foreign.status_code == 404
    await login_as(client, one.store, Role.AGENT, "agent@one.example")
    denied = await client.post("/settings/hooks", data={"target_url": "https://x.example/"})
    assert denied.status_code == 403


async def test_segment_write_key_is_set_from_the_page(client) -> None:
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/settings")).text)
    bad = await client.post("/settings/segment", data={"csrf_token": csrf, "write_key": "a b"})
    assert bad.status_code == 422
    saved = await client.post("/settings/segment", data={"csrf_token": csrf, "write_key": "wk1"})
    assert saved.status_code == 303
    assert (await SegmentDestination.get(store_id=issued.store.id)).write_key == "wk1"
    assert "A write key is set." in (await client.get("/settings")).text

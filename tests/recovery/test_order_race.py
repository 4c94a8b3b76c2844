"""No send after an acknowledged order: an order answered 200 before a send's last check stops that
send, even while the order still waits in the raw-event queue (no drain runs in these tests)."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest

from app.ingest.models import OrderSeen, RawEvent, RawStatus
from app.messaging.models import DeliveryStatus, Message
from app.recovery import flows
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep
from app.recovery.playbook import ensure_default_flow
from app.recovery.sending import Deps, Later, run_step
from app.stores.services import forget_cached_stores
from tests.factories import make_store
from tests.recovery.conftest import abandoned


@pytest.fixture(autouse=True)
def fresh_flows() -> Iterator[None]:
    """Flow and store ids restart with every test's truncation: no other test's cached rows."""
    flows.forget_steps()
    forget_cached_stores()
    yield
    flows.forget_steps()
    forget_cached_stores()


@pytest.fixture
async def shop(settings):
    issued = await make_store("custom", domain="shop.example.com", name="Sprig & Stone")
    flow = await ensure_default_flow(issued.store)
    await FlowStep.filter(flow=flow).delete()
    variant = {"key": "a", "subject": "Your cart", "body": "Hi {{ first_name }}"}
    await FlowStep.create(
        flow=flow, position=0, channel="email", delay_seconds=0, variants=[variant]
    )
    return issued.store


def paced(deps: Deps, per_second: float) -> Deps:
    recovery = dataclasses.replace(deps.settings.recovery, email_per_second=per_second)
    return dataclasses.replace(deps, settings=dataclasses.replace(deps.settings, recovery=recovery))


async def order(client, store, checkout) -> float:
    """Post `Order Completed` for the checkout; returns the moment its 200 arrived."""
    event = {
        "type": "track",
        "event": "Order Completed",
        "messageId": uuid.uuid4().hex,
        "context": {"traits": {"email": checkout.email}},
        "properties": {"checkout_id": checkout.token, "order_id": uuid.uuid4().hex, "total": 64},
    }
    response = await client.post(f"/collect/v1/events?key={store.publishable_key}", json=event)
    assert response.status_code == 202 and response.json()["accepted"] == 1, response.text
    return time.time()


async def send(deps: Deps, enrollment_id: int) -> str:
    while True:
        try:
            return await run_step(deps, enrollment_id, 0)
        except Later as later:
            await asyncio.sleep(min(later.seconds, 0.2))


async def test_an_order_acknowledged_while_a_send_waits_for_its_slot_stops_it(
    client, deps, shop, clock, smtp
):
    at = clock.now - timedelta(minutes=1)
    (_, first), (checkout, second) = [
        await abandoned(shop, at, email=f"s{i}@example.com", phone=None) for i in range(2)
    ]
    slow = paced(deps, 1)  # one email a second: the second send waits for its slot
    assert await send(slow, first.id) == "sent"
    task = asyncio.create_task(send(slow, second.id))
    while not await Message.exists(enrollment_id=second.id, status=DeliveryStatus.SENDING):  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    await order(client, shop, checkout)  # acknowledged; nothing drains the raw event
    assert await task == "stopped"
    assert [m["To"] for m in smtp.messages] == ["s0@example.com"]
    message = await Message.get(enrollment_id=second.id)
    assert message.status == DeliveryStatus.CANCELLED
    enrollment = await Enrollment.get(id=second.id)
    assert (
        enrollment.status == EnrollmentStatus.STOPPED and enrollment.stop_reason == "order_placed"
    )
    assert await RawEvent.filter(status=RawStatus.PENDING).count() == 1


async def test_orders_racing_due_steps_across_two_workers(client, deps, shop, clock, smtp, caplog):
    caplog.set_level(logging.DEBUG, logger="app.recovery.sending._deliver")
    at = clock.now - timedelta(minutes=1)
    carts = [await abandoned(shop, at, email=f"r{i}@example.com", phone=None) for i in range(40)]
    worker = paced(deps, 25)  # 40 sends over about 1.6 s
    other = dataclasses.replace(worker)
    ids = [e.id for _, e in carts]
    acks: dict[str, float] = {}

    async def run(d: Deps, order_of: list[int]) -> None:
        for enrollment_id in order_of:
            await send(d, enrollment_id)

    async def buy() -> None:
        for i, (checkout, _) in enumerate(carts):
            await asyncio.sleep(0.04 if i % 2 else 0.0)
            acks[checkout.email] = await order(client, shop, checkout)

    await asyncio.gather(run(worker, ids), run(other, ids[::-1]), buy())
    checks = {
        r.ctx["message"]: r.created  # type: ignore[attr-defined]
        for r in caplog.records
        if r.getMessage() == "last order check"
    }
    sent = await Message.filter(enrollment_id__in=ids).exclude(status=DeliveryStatus.CANCELLED)
    late = [m for m in sent if checks[m.id] > acks[m.to_address]]
    assert late == [], [(m.to_address, checks[m.id] - acks[m.to_address]) for m in late]
    assert len(smtp.messages) == len(sent)
    stopped = await Message.filter(enrollment_id__in=ids, status=DeliveryStatus.CANCELLED).count()
    assert stopped > 0 and sent, (stopped, len(sent))  # the race did happen both ways
    assert await OrderSeen.filter(store_id=shop.id).count() == 40

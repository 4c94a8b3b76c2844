"""One store's template that cannot render fails its own step, recorded with the reason, and every
other store's due emails still go out in the same worker run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from app.messaging.models import DeliveryStatus, Message
from app.recovery import flows
from app.recovery.models import Enrollment, FlowStep
from app.recovery.sending import Later, run_step, send_due
from app.stores.services import forget_cached_stores
from tests.conftest import DATABASE_URL
from tests.factories import make_store
from tests.recovery.conftest import abandoned

POISON = "{{ ''.__class__.__mro__[1].__subclasses__() }}"
GOOD = {"key": "a", "subject": "Your cart at {{ store_name }}", "body": "Hi {{ first_name }}"}


@pytest.fixture(autouse=True)
def fresh_flows() -> Iterator[None]:
    """Flow and store ids restart with every test's truncation: no other test's cached rows."""
    flows.forget_steps()
    forget_cached_stores()
    yield
    flows.forget_steps()
    forget_cached_stores()


async def one_email_step(store, variant) -> None:
    """Written straight to the database, as a template saved before the checks would be."""
    from app.recovery.playbook import ensure_default_flow

    flow = await ensure_default_flow(store)
    await FlowStep.filter(flow=flow).delete()
    await FlowStep.create(
        flow=flow, position=0, channel="email", delay_seconds=0, variants=[variant]
    )


async def two_stores(store, clock, poisoned: int, healthy: int):
    other = (await make_store("custom", domain="other.example.com", name="Other")).store
    await one_email_step(store, {**GOOD, "key": "b", "body": POISON})
    await one_email_step(other, GOOD)
    at = clock.now - timedelta(minutes=1)
    bad, good = [], []
    for i in range(poisoned):
        bad.append((await abandoned(store, at, email=f"bad{i}@example.com", phone=None))[1])
    for i in range(healthy):
        good.append((await abandoned(other, at, email=f"good{i}@example.com", phone=None))[1])
    return bad, good


async def assert_failed_alone(bad) -> None:
    for enrollment in bad:
        message = await Message.get(enrollment_id=enrollment.id)
        assert message.status == DeliveryStatus.FAILED and message.error_code == "template"
        assert message.error_message.startswith("Variant 'b': the body could not be rendered: ")
        assert "may not access" in message.error_message
        await enrollment.refresh_from_db()
        assert enrollment.next_step == 1 and str(enrollment.status) == "completed"


@pytest.mark.skipif(not DATABASE_URL.startswith("postgres"), reason="batches need PostgreSQL")
async def test_a_batch_sends_every_other_store_email_in_one_run(deps, store, clock, smtp):
    bad, _ = await two_stores(store, clock, poisoned=5, healthy=20)
    batch = await send_due(deps, 50)
    assert batch.outcomes == {"sent": 20, "failed": 5}
    assert sorted(m["To"] for m in smtp.messages) == sorted(
        f"good{i}@example.com" for i in range(20)
    )
    await assert_failed_alone(bad)
    assert (await send_due(deps, 50)).outcomes == {}  # nothing left to retry


async def test_a_single_step_fails_alone_and_its_job_ends(deps, store, clock, smtp):
    bad, good = await two_stores(store, clock, poisoned=2, healthy=2)
    results = []
    for enrollment in [*bad, *good]:
        try:
            results.append(await run_step(deps, enrollment.id, 0))
        except Later as later:  # pragma: no cover - would mean a retry loop
            results.append(f"later:{later.reason}")
    assert results == ["failed", "failed", "sent", "sent"]
    assert len(smtp.messages) == 2
    await assert_failed_alone(bad)


async def test_the_reason_reaches_the_merchant(client, deps, store, clock, smtp):
    from app.recovery.failures import recent_failures

    bad, _ = await two_stores(store, clock, poisoned=3, healthy=1)
    for enrollment in bad:
        await run_step(deps, enrollment.id, 0)
    [failure] = await recent_failures(store.id, clock.now)
    assert failure.count == 3 and failure.step == 1 and failure.variant == "b"
    assert "may not access" in failure.reason
    other = await Enrollment.filter(store_id__not=store.id).first()
    assert other is not None and not await recent_failures(other.store_id, clock.now)  # type: ignore[attr-defined]

"""A step that offers something only below a score: checked against the stored score right before
sending, and against the store's prior when the checkout has none."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.checkouts.models import Checkout
from app.recovery.flows import forget_steps, ordered_steps
from app.recovery.models import FlowStep
from app.recovery.sending import run_step
from tests.recovery.conftest import abandoned


async def only_below(enrollment, score: str) -> None:
    steps = await ordered_steps(enrollment.flow_id)
    await FlowStep.filter(id=steps[0].id).update(conditions={"max_score": score})
    forget_steps(enrollment.flow_id)


async def test_a_likely_buyer_skips_the_step_meant_for_unlikely_ones(
    deps, store, clock, fake_twilio
):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    await Checkout.filter(id=checkout.id).update(
        recovery_score=Decimal("0.62"), expected_value=Decimal("39.68"), score_source="model"
    )
    await only_below(enrollment, "0.3")
    assert await run_step(deps, enrollment.id, 0) == "skipped"
    assert fake_twilio.sent == []


async def test_an_unscored_checkout_reads_as_the_prior_and_is_sent(deps, store, clock, fake_twilio):
    checkout, enrollment = await abandoned(store, clock.now - timedelta(minutes=16))
    await Checkout.filter(id=checkout.id).update(recovery_score=None, expected_value=None)
    await only_below(enrollment, "0.3")  # the base rate, 0.10, is below it
    assert await run_step(deps, enrollment.id, 0) == "sent"
    assert len(fake_twilio.sent) == 1

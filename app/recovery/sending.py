"""The send pipeline: each (enrollment, step) yields at most one message, whatever crashes.

The no-duplicate rule, in order:
1. The database says what is due (`Enrollment.next_step` / `next_due_at`); arq jobs with the id
   `send:{enrollment}:{step}` only say when. Duplicate or stale jobs find the pointer moved and stop.
2. Under the enrollment's row lock (and the contact's, for the frequency budget) the stop and pace
   rules are evaluated again, then the attempt is committed as a `Message` in state `sending` whose
   `idempotency_key` is `enrollment:{id}:step:{n}` -- the database refuses a second copy.
3. Only then is the provider called. A definite refusal is recorded (permanent: never retried,
   marked on the contact; transient: back to `pending` and retried with backoff). An answer we
   never got (timeout, crash, kill -9) leaves the row in `sending`; once it is older than
   FOLLOWUP_SENDING_STALE_SECONDS it becomes `unknown` and the sequence moves on WITHOUT resending:
   we prefer a missed step to a duplicate text. A later Twilio status callback may still resolve it.

`app.recovery.batches` claims many due steps at once on PostgreSQL under the same rules: row locks
(taken with SKIP LOCKED), the rules under them, the `sending` row committed before any provider call.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from app.checkouts.models import Checkout
from app.core.logging import ctx
from app.recovery.claims import claim_step
from app.recovery.delivery import deliver
from app.recovery.discounts import Incentive, ensure_discount
from app.recovery.models import DiscountCode, Enrollment, FlowStep
from app.recovery.pipeline import (
    Claim,
    Deps,
    Later,
    advance,
    enriches,
    is_current,
    needs_preparation,
    notify_changed,
    ordered_steps,
    schedule_after,
)
from app.stores.models import Store
from app.stores.services import recent_store

log = logging.getLogger(__name__)


async def run_step(deps: Deps, enrollment_id: int, step_index: int) -> str:
    """Send one step if it is still due and allowed; returns what happened (for logs and tests)."""
    now = deps.clock()
    enrollment = await Enrollment.get_or_none(id=enrollment_id)
    if not is_current(enrollment, step_index):
        return "stale"
    assert enrollment is not None
    steps = await ordered_steps(enrollment.flow_id)  # type: ignore[attr-defined]
    if step_index >= len(steps):
        await advance(None, enrollment, step_index, steps, now)
        return "completed"
    if enrollment.next_due_at and enrollment.next_due_at > now + timedelta(seconds=1):
        raise Later((enrollment.next_due_at - now).total_seconds(), "not due yet")
    step = steps[step_index]
    store = await recent_store(enrollment.store_id)  # type: ignore[attr-defined]
    if store is None:  # deleted (shop/redact) since the enrollment was read
        return "stale"
    discount = await _prepare(deps, store, enrollment, step, now)
    claim = await claim_step(deps, enrollment_id, step_index, steps, discount)
    if claim.outcome != "send":
        return await _after_claim(deps, claim, enrollment, step_index, steps)
    if claim.wait:  # the sender's slot, reserved under the lock once the channel was known
        await asyncio.sleep(claim.wait)
    return await deliver(deps, claim, store, enrollment, step_index, steps)


async def _prepare(
    deps: Deps, store: Store, enrollment: Enrollment, step: FlowStep, now: datetime
) -> DiscountCode | None:
    """Slow, external work before any lock: Shopify images and discount codes (both idempotent)."""
    if not needs_preparation(deps, store, step):
        return None
    checkout = await Checkout.get(id=enrollment.checkout_id)  # type: ignore[attr-defined]
    if not store.is_active or checkout.status != "abandoned":
        return None
    if enriches(deps, store):
        await _enrich(store, checkout, deps)
    if not step.incentive:
        return None
    spec = Incentive.parse(step.incentive)
    return await ensure_discount(store, enrollment, spec, checkout.total, now, deps.issuer)


async def _enrich(store: Store, checkout: Checkout, deps: Deps) -> None:
    try:
        from app.integrations.shopify.enrichment import (  # type: ignore[import-not-found]
            enrich_line_items,
        )
    except ImportError:
        return
    try:
        await enrich_line_items(store, checkout, deps.redis)  # the worker's client, not a new one
    except Exception as exc:  # images are nice to have; never block a send on them
        log.warning("line item enrichment failed", extra=ctx(checkout=checkout.id, error=exc))


async def _after_claim(
    deps: Deps, claim: Claim, enrollment: Enrollment, step_index: int, steps: list[FlowStep]
) -> str:
    if claim.outcome in ("deferred", "in_flight") and claim.until:
        raise Later((claim.until - deps.clock()).total_seconds(), claim.reason or claim.outcome)
    if claim.outcome in ("skipped", "advanced", "failed"):
        await schedule_after(deps, enrollment.id, claim.pointer)
    if claim.message is not None and claim.reason == "unknown":
        await notify_changed(claim.message.id)
    if claim.outcome in ("skipped", "stopped"):
        log.info(
            "recovery step %s",
            claim.outcome,
            extra=ctx(enrollment=enrollment.id, step=step_index, reason=claim.reason),
        )
    return claim.outcome

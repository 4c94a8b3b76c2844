"""Slow, external work before any lock: Shopify line-item images and discount codes (both idempotent)."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from app.checkouts.models import Checkout, Order
from app.core.logging import ctx
from app.recovery.discounts import Incentive, ensure_discount
from app.recovery.models import DiscountCode, Enrollment, FlowStep
from app.recovery.sending._deps import Deps
from app.stores.models import Platform, Store

log = logging.getLogger(__name__)


def enriches(deps: Deps, store: Store) -> bool:
    """Whether sends of this store first fetch Shopify line-item images (slow, external)."""
    return deps.enrich and store.platform == Platform.SHOPIFY


def needs_preparation(deps: Deps, store: Store, step: FlowStep) -> bool:
    """Slow external work before the lock (a discount code, Shopify images): such a step goes
    through its own job, never a batch that holds many rows locked."""
    return bool(step.incentive) or enriches(deps, store)


async def prepare(
    deps: Deps, store: Store, enrollment: Enrollment, step: FlowStep, now: datetime
) -> DiscountCode | None:
    """The step's discount code, if it offers one, with the cart's images fetched first."""
    if not needs_preparation(deps, store, step):
        return None
    if enrollment.checkout_id is None:  # a flow without a cart: a code, never images
        if not store.is_active or not step.incentive:
            return None
        total = await _order_total(enrollment)
        spec = Incentive.parse(step.incentive)
        return await ensure_discount(store, enrollment, spec, total, now, deps.issuer)
    checkout = await Checkout.get(id=enrollment.checkout_id)
    if not store.is_active or checkout.status != "abandoned":
        return None
    if enriches(deps, store):
        await _enrich(store, checkout, deps)
    if not step.incentive:
        return None
    spec = Incentive.parse(step.incentive)
    return await ensure_discount(store, enrollment, spec, checkout.total, now, deps.issuer)


async def _order_total(enrollment: Enrollment) -> Decimal:
    """What an incentive's minimum compares with when there is no cart: a pending order's total,
    else nothing (a birthday code with a minimum is not issued)."""
    order = await Order.get_or_none(id=enrollment.order_id) if enrollment.order_id else None
    return order.total if order else Decimal(0)


async def _enrich(store: Store, checkout: Checkout, deps: Deps) -> None:
    try:
        from app.integrations.shopify.enrichment import (
            enrich_line_items,
        )
    except ImportError:
        return
    try:
        await enrich_line_items(store, checkout, deps.redis)  # the worker's client, not a new one
    except Exception as exc:  # images are nice to have; never block a send on them
        log.warning("line item enrichment failed", extra=ctx(checkout=checkout.id, error=exc))

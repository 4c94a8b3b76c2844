"""Slow, external work before any lock: Shopify line-item images, discount codes (both idempotent)
and the store's current prices and stock (bounded, cached, falling back to the captured cart)."""

from __future__ import annotations

import logging
from datetime import datetime
from decimal import Decimal

from app.checkouts.models import Checkout, Order
from app.core.logging import ctx
from app.recovery import fresh
from app.recovery.discounts import Incentive, ensure_discount
from app.recovery.models import DiscountCode, Enrollment, FlowStep
from app.recovery.sending._deps import Deps
from app.stores.models import Platform, Store
from app.stores.services import recent_store

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


async def current_prices(deps: Deps, store: Store, checkout_id: int | None) -> fresh.Prices | None:
    """What the store charges now for a step's cart (None: a store with nothing to ask, or a
    flow without a cart)."""
    if checkout_id is None or not deps.fresh or fresh.reader_for(store) is None:
        return None
    checkout = await Checkout.get_or_none(id=checkout_id)
    if checkout is None:
        return None
    return await fresh.look_up(deps.redis, deps.settings, [(store, checkout)])


async def batch_prices(deps: Deps, due: list[tuple[int | None, int]]) -> fresh.Prices | None:
    """The current prices for a batch's carts (checkout id, store id): one request per store."""
    if not deps.fresh or not due:
        return None
    stores = {s: await recent_store(s) for s in {store_id for _, store_id in due}}
    asked = {i for i, s in stores.items() if s is not None and fresh.reader_for(s) is not None}
    ids = [c for c, store_id in due if c is not None and store_id in asked]
    if not ids:
        return None
    checkouts = await Checkout.filter(id__in=ids)
    pairs = [(stores[c.store_id], c) for c in checkouts]
    return await fresh.look_up(deps.redis, deps.settings, [(s, c) for s, c in pairs if s])

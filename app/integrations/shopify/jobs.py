"""Worker jobs for Shopify: enrich stored checkouts with product images before any message renders."""

from __future__ import annotations

import logging
from typing import Any

from app.checkouts.models import Checkout
from app.integrations.shopify.client import ShopifyError
from app.integrations.shopify.enrichment import enrich_line_items
from app.integrations.shopify.tokens import NotInstalled
from app.stores.services import recent_store

log = logging.getLogger(__name__)


async def enrich_checkout(job_ctx: dict[str, Any], checkout_id: int) -> bool:
    """Best effort: a shop without a token (or a Shopify outage) leaves the items as they are."""
    checkout = await Checkout.get_or_none(id=checkout_id)
    if checkout is None:
        return False
    store = await recent_store(checkout.store_id)
    if store is None or not store.credentials:
        return False
    try:
        return await enrich_line_items(store, checkout, job_ctx["redis"])
    except (NotInstalled, ShopifyError) as exc:
        log.warning("enrichment skipped for checkout %s: %s", checkout_id, exc)
        return False

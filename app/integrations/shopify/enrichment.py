"""Product images and URLs for checkout line items: webhooks carry none, so we ask the Admin API once."""

from __future__ import annotations

import json
import logging
from typing import Any

from redis.asyncio import Redis
from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout
from app.config import get_settings
from app.core.logging import ctx
from app.core.redis import connect_redis
from app.integrations.shopify.client import AdminClient
from app.stores.models import Store

log = logging.getLogger(__name__)
BATCH = 100
VARIANTS = """
query FollowUpVariantImages($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on ProductVariant {
      id
      image { url }
      product { handle onlineStoreUrl featuredImage { url } }
    }
  }
}"""


def variant_gid(variant_id: str) -> str:
    return (
        variant_id
        if variant_id.startswith("gid://")
        else f"gid://shopify/ProductVariant/{variant_id}"
    )


def storefront(store: Store) -> str:
    """Shoppers see the primary domain, not the myshopify one; install stored both as origins."""
    custom = [o for o in store.allowed_origins or [] if not o.endswith(".myshopify.com")]
    return custom[0] if custom else f"https://{store.domain}"


def _media(store: Store, node: dict[str, Any]) -> dict[str, str | None]:
    product = node.get("product") or {}
    image = (node.get("image") or {}).get("url") or (product.get("featuredImage") or {}).get("url")
    url = product.get("onlineStoreUrl")
    if not url and product.get("handle"):
        url = f"{storefront(store)}/products/{product['handle']}"
    return {"image_url": image, "product_url": url}


def _wanted(checkout: Checkout) -> set[str]:
    return {
        str(item["variant_id"])
        for item in checkout.line_items or []
        if item.get("variant_id") and not (item.get("image_url") and item.get("product_url"))
    }


async def _cached(redis: Any, store: Store, ids: set[str]) -> dict[str, dict[str, Any]]:
    keys = [f"shopify:variant:{store.id}:{i}" for i in sorted(ids)]
    try:
        values = await redis.mget(keys)
    except Exception as exc:  # Redis may be gone: the Admin API still answers
        log.warning("image cache unavailable: %s", exc)
        return {}
    return {i: json.loads(v) for i, v in zip(sorted(ids), values, strict=True) if v}


async def _remember(redis: Any, store: Store, found: dict[str, dict[str, Any]]) -> None:
    ttl = get_settings().shopify.image_cache_seconds
    try:
        async with redis.pipeline(transaction=False) as pipe:
            for variant_id, media in found.items():
                pipe.set(f"shopify:variant:{store.id}:{variant_id}", json.dumps(media), ex=ttl)
            await pipe.execute()
    except Exception as exc:
        log.warning("image cache unavailable: %s", exc)


async def _fetch(store: Store, ids: set[str]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    ordered = sorted(ids)
    async with AdminClient(store) as admin:
        for start in range(0, len(ordered), BATCH):
            batch = ordered[start : start + BATCH]
            data = await admin.execute(VARIANTS, {"ids": [variant_gid(i) for i in batch]})
            for variant_id, node in zip(batch, data.get("nodes") or [], strict=False):
                if node:
                    found[variant_id] = _media(store, node)
    return found


async def enrich_line_items(store: Store, checkout: Checkout, redis: Redis | None = None) -> bool:
    """Fill `image_url` and `product_url` of the checkout's items; True when something changed.

    Called by a job right after a Shopify checkout is stored, and again by the recovery engine
    just before it renders a message (cheap then: everything is cached or already filled).
    Callers pass the Redis client they already hold (the worker's); without one a connection is
    opened for this call only.
    """
    wanted = _wanted(checkout)
    if not wanted:
        return False
    if redis is not None:
        media = await _lookup(redis, store, wanted)
    else:
        own = connect_redis()
        try:
            media = await _lookup(own, store, wanted)
        finally:
            await own.aclose()
    # Decide on the copy in hand first: cached results that change nothing need no row lock.
    if not _merge(checkout.line_items or [], media)[1]:
        return False
    return await _apply(checkout, media)


async def _lookup(redis: Any, store: Store, wanted: set[str]) -> dict[str, dict[str, Any]]:
    media = await _cached(redis, store, wanted)
    missing = wanted - set(media)
    if missing:
        fetched = await _fetch(store, missing)
        await _remember(redis, store, fetched)
        media |= fetched
    return media


def _merge(
    items: list[dict[str, Any]], media: dict[str, dict[str, Any]]
) -> tuple[list[dict[str, Any]], bool]:
    """The items with missing media filled in (present values win), and whether any changed."""
    merged, changed = [], False
    for item in items:
        found = media.get(str(item.get("variant_id") or ""))
        if found:
            filled = {k: item.get(k) or v for k, v in found.items()}
            changed |= any(item.get(k) != v for k, v in filled.items())
            item = {**item, **filled}
        merged.append(item)
    return merged, changed


async def _apply(checkout: Checkout, media: dict[str, dict[str, Any]]) -> bool:
    """Merge under a row lock, so a concurrent webhook update of the items is not overwritten."""
    async with in_transaction() as conn:
        current = await Checkout.select_for_update().using_db(conn).get(id=checkout.id)
        items, changed = _merge(current.line_items or [], media)
        if changed:
            await Checkout.filter(id=checkout.id).using_db(conn).update(line_items=items)
    checkout.line_items = items
    if changed:
        log.info("line items enriched", extra=ctx(checkout=checkout.id))
    return changed

"""Line items get images and product URLs from the Admin API after a checkout webhook, cached in Redis."""

from __future__ import annotations

import asyncio
import json

from tortoise.transactions import in_transaction

from app.checkouts.models import Checkout
from app.integrations.shopify.enrichment import enrich_line_items
from tests.factories import payload, shopify_headers

PILLOW, MUG = "49871234561234", "49871234569988"
CDN = "https://cdn.shopify.com/s/files/1/0712/3456/7890/files/"


def _variants(shopify, shop):
    fake = shopify.shop(shop)
    fake.variants = {
        f"gid://shopify/ProductVariant/{PILLOW}": {
            "id": f"gid://shopify/ProductVariant/{PILLOW}",
            "image": {"url": CDN + "linen-pillow-sage.jpg"},
            "product": {
                "handle": "linen-throw-pillow",
                "onlineStoreUrl": "https://velvetferngoods.example/products/linen-throw-pillow",
                "featuredImage": {"url": CDN + "pillow.jpg"},
            },
        },
        f"gid://shopify/ProductVariant/{MUG}": {
            "id": f"gid://shopify/ProductVariant/{MUG}",
            "image": None,
            "product": {
                "handle": "stoneware-mug",
                "onlineStoreUrl": None,
                "featuredImage": {"url": CDN + "mug.jpg"},
            },
        },
    }


def _nodes_requests(shopify):
    return [r for r in shopify.graphql_requests if "nodes(ids:" in r["query"]]


async def test_checkout_webhook_is_enriched_by_a_job_and_images_are_cached(
    client, installed, shopify, run_jobs, redis
):
    _variants(shopify, installed.domain)
    body = json.dumps(payload("shopify_checkouts_create.json")).encode()
    await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/create")
    )
    await run_jobs()
    items = (await Checkout.get()).line_items
    assert items[0]["image_url"] == CDN + "linen-pillow-sage.jpg"
    assert items[0]["product_url"] == "https://velvetferngoods.example/products/linen-throw-pillow"
    assert items[1]["image_url"] == CDN + "mug.jpg"  # no variant image: the product's
    assert items[1]["product_url"] == "https://velvetferngoods.example/products/stoneware-mug"
    assert len(_nodes_requests(shopify)) == 1
    assert _nodes_requests(shopify)[0]["variables"]["ids"] == sorted(
        f"gid://shopify/ProductVariant/{v}" for v in (PILLOW, MUG)
    )
    assert 0 < await redis.ttl(f"shopify:variant:{installed.id}:{PILLOW}") <= 86400

    second = payload("shopify_checkouts_create.json") | {"token": "second-checkout"}
    body = json.dumps(second).encode()
    await client.post(
        "/webhooks/shopify", content=body, headers=shopify_headers(body, "checkouts/create")
    )
    await run_jobs()
    assert (await Checkout.get(token="second-checkout")).line_items[0]["image_url"]
    assert len(_nodes_requests(shopify)) == 1  # served from the cache


async def test_enrichment_is_a_no_op_when_everything_is_filled(installed, shopify):
    _variants(shopify, installed.domain)
    checkout = await Checkout.create(
        store=installed,
        platform="shopify",
        token="t",
        last_activity_at="2026-01-08T18:41:07Z",
        line_items=[{"title": "x", "variant_id": PILLOW, "image_url": "a", "product_url": "b"}],
    )
    assert await enrich_line_items(installed, checkout) is False
    assert _nodes_requests(shopify) == []


async def test_cached_media_that_change_nothing_take_no_row_lock(installed, shopify, redis):
    """A send's enrichment must not queue behind a webhook holding the checkout row."""
    _variants(shopify, installed.domain)
    shopify.shop(installed.domain).variants[f"gid://shopify/ProductVariant/{MUG}"]["product"] = {
        "handle": None,
        "onlineStoreUrl": None,
        "featuredImage": {"url": CDN + "mug.jpg"},
    }
    checkout = await Checkout.create(
        store=installed,
        platform="shopify",
        token="t",
        last_activity_at="2026-01-08T18:41:07Z",
        line_items=[{"title": "mug", "variant_id": MUG, "image_url": CDN + "mug.jpg"}],
    )
    assert await enrich_line_items(installed, checkout, redis) is False  # fetched, nothing new
    assert len(_nodes_requests(shopify)) == 1
    async with in_transaction() as conn:
        await Checkout.select_for_update().using_db(conn).get(id=checkout.id)
        changed = await asyncio.wait_for(enrich_line_items(installed, checkout, redis), 5)
    assert changed is False
    assert len(_nodes_requests(shopify)) == 1  # served from the cache
    assert await redis.ping()  # the caller's client is the caller's to close
    assert (await Checkout.get(id=checkout.id)).line_items == checkout.line_items

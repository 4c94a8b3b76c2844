"""What fresh prices cost a send: the cart read again from (fake, loopback HTTP) Shopify before
rendering, against rendering the captured cart, in the same run.

Per round, a batch of `--batch` carts of one store (two lines each) is rendered three ways:
- `captured`: build the template context from the captured cart and render the default email;
- `fresh, cache cold`: the price cache is emptied first, so the batch costs one `nodes(ids:)`
  request (the worst case: every batch of a store misses), then the same rendering;
- `fresh, cache warm`: the answers of the previous batch are still in Redis (no request).
The fake Shopify answers at once, so the figures are our own cost (HTTP client, JSON, Redis, the
price rules), not Shopify's latency. Redis is `BENCH_REDIS_URL` (db 13 by default, flushed).

    .venv/bin/python -m bench.fresh --rounds 40 --batch 50
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REDIS = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
SHOP = "bench-fresh.myshopify.com"


def _settings(admin: str) -> Any:
    from app.config import load_settings, use_settings

    loaded = load_settings(
        {
            "FOLLOWUP_DATABASE_URL": "sqlite:///tmp/bench-fresh-unused.sqlite3",
            "FOLLOWUP_REDIS_URL": REDIS,
            "FOLLOWUP_SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
            "FOLLOWUP_LOG_LEVEL": "WARNING",
            "FOLLOWUP_SHOPIFY_ADMIN_BASE_URL": admin,
        }
    )
    use_settings(loaded)
    return loaded


def _carts(store: Any, batch: int, offset: int) -> list[Any]:
    from types import SimpleNamespace

    carts = []
    for i in range(batch):
        base = offset + 2 * i
        items = [
            {
                "title": f"Item {base}",
                "variant_id": str(base),
                "quantity": 1,
                "unit_price": "25.00",
            },
            {
                "title": f"Item {base + 1}",
                "variant_id": str(base + 1),
                "quantity": 2,
                "unit_price": "12.00",
            },
        ]
        carts.append(
            SimpleNamespace(
                id=base,
                store_id=store.id,
                line_items=items,
                currency="USD",
                locale="en_US",
                subtotal=Decimal("49.00"),
                total=Decimal("54.00"),
            )
        )
    return carts


def _render(store: Any, checkout: Any, cart: Any) -> None:
    from app.recovery import templates
    from app.recovery.playbook import DEFAULT_STEPS

    context = templates.build_context(
        store=store,
        checkout=checkout,
        contact=None,
        magic_link="https://x/r/1",
        unsubscribe_url="https://x/u/1",
        discount=None,
        cart=cart,
    )
    templates.render_email(DEFAULT_STEPS[1]["variants"][0], context)


async def _round(redis: Any, settings: Any, store: Any, carts: list[Any], mode: str) -> float:
    from app.recovery import fresh

    if mode == "fresh, cache cold":
        await redis.flushdb()
    started = time.perf_counter()
    prices = (
        await fresh.look_up(redis, settings, [(store, c) for c in carts])
        if mode != "captured"
        else None
    )
    for checkout in carts:
        _render(store, checkout, fresh.cart(prices, store, checkout))
    return time.perf_counter() - started


async def main(args: argparse.Namespace) -> None:
    from redis.asyncio import Redis

    from app.integrations.shopify.tokens import Credentials
    from app.stores.models import Platform, Store
    from tests.fakes.shopify import FakeShopify, start

    fake = FakeShopify(api_key="bench", api_secret="bench")
    server, thread = start(fake)
    settings = _settings(fake.url)
    token = "shpat_bench"
    fake.access_tokens[token] = (SHOP, time.time() + 86400)
    shop = fake.shop(SHOP)
    variants = 2 * args.batch * args.rounds
    for i in range(variants):
        gid = f"gid://shopify/ProductVariant/{i}"
        shop.variants[gid] = {
            "id": gid,
            "price": "20.00" if i % 2 == 0 else "12.00",
            "compareAtPrice": None,
            "availableForSale": i % 7 != 3,
        }
    store = Store(
        id=1,
        platform=Platform.SHOPIFY,
        domain=SHOP,
        name="Bench",
        currency="USD",
        locale="en_US",
        credentials=Credentials(token, "read_orders").to_json(),
    )
    redis = Redis.from_url(REDIS)
    await redis.flushdb()
    import logging

    logging.getLogger("httpx").setLevel(logging.WARNING)
    warm = _carts(store, args.batch, 0)  # compile the templates and open the pools first
    for mode in ("captured", "fresh, cache cold"):
        await _round(redis, settings, store, warm, mode)
    fake.graphql_requests.clear()
    totals = {"captured": 0.0, "fresh, cache cold": 0.0, "fresh, cache warm": 0.0}
    for n in range(args.rounds):  # interleaved, so load changes hit every mode alike
        carts = _carts(store, args.batch, 2 * args.batch * n)
        for mode in ("captured", "fresh, cache cold", "fresh, cache warm"):
            totals[mode] += await _round(redis, settings, store, carts, mode)
    sends = args.rounds * args.batch
    base = totals["captured"] / sends
    print(f"{sends} sends in batches of {args.batch}; load average {os.getloadavg()[0]:.2f}")
    for mode, seconds in totals.items():
        per = seconds / sends
        print(f"{mode:20s} {per * 1000:7.3f} ms/send  ratio {per / base:5.2f}")
    lookups = sum(1 for r in fake.graphql_requests if "FollowUpCurrentVariants" in r["query"])
    print(f"nodes(ids:) requests: {lookups} for {args.rounds} cold batches")
    await redis.flushdb()
    await redis.aclose()
    server.should_exit = True
    thread.join(timeout=5)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--batch", type=int, default=50)
    asyncio.run(main(parser.parse_args()))

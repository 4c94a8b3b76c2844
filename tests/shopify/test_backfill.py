"""`followup shopify import`: paginated, throttle-tolerant, idempotent, and never enrolls old checkouts."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from app.checkouts.models import Checkout, CheckoutStatus
from app.core.outbox import OutboxEvent
from app.integrations.shopify.backfill import enrollable, import_abandoned, parse_since
from tests.conftest import TEST_ENV

NOW = datetime.now(UTC).replace(microsecond=0)


def node(n: int, updated: datetime, *, completed: bool = False) -> dict:
    token = f"tok{n:04d}"
    return {
        "id": f"gid://shopify/AbandonedCheckout/{n}",
        "name": f"#{n}",
        "abandonedCheckoutUrl": f"https://velvet-fern-goods.myshopify.com/72817360915/checkouts/{token}/recover?key=k{n}",
        "createdAt": (updated - timedelta(minutes=5)).isoformat().replace("+00:00", "Z"),
        "updatedAt": updated.isoformat().replace("+00:00", "Z"),
        "completedAt": updated.isoformat() if completed else None,
        "customer": {
            "id": f"gid://shopify/Customer/{n}",
            "email": f"shopper{n}@example.com",
            "phone": None,
            "firstName": "Sam",
            "lastName": f"Buyer{n}",
            "locale": "en-US",
            "emailMarketingConsent": {"marketingState": "SUBSCRIBED"},
            "smsMarketingConsent": None,
        },
        "shippingAddress": {"countryCodeV2": "US", "provinceCode": "CA", "firstName": "Sam"},
        "billingAddress": None,
        "subtotalPriceSet": {"shopMoney": {"amount": "48.0", "currencyCode": "USD"}},
        "totalPriceSet": {"shopMoney": {"amount": "52.5", "currencyCode": "USD"}},
        "totalDiscountSet": {"shopMoney": {"amount": "0.0"}},
        "totalTaxSet": {"shopMoney": {"amount": "4.5"}},
        "discountCodes": [],
        "lineItems": {
            "nodes": [
                {
                    "title": "Linen Throw Pillow",
                    "variantTitle": "Sage",
                    "sku": "LTP-SAGE-20",
                    "quantity": 1,
                    "image": {"url": "https://cdn.shopify.com/pillow.jpg"},
                    "variant": {
                        "id": "gid://shopify/ProductVariant/49871234561234",
                        "product": {
                            "id": "gid://shopify/Product/8912345678901",
                            "onlineStoreUrl": "https://velvetferngoods.example/products/pillow",
                        },
                    },
                    "originalUnitPriceSet": {"shopMoney": {"amount": "48.0"}},
                }
            ]
        },
    }


def _history(shopify, shop) -> None:
    """60 recent, 3 idle for 3 days, 2 completed, 4 older than --since."""
    fake = shopify.shop(shop)
    fake.abandoned_checkouts = (
        [node(i, NOW - timedelta(hours=2, minutes=i)) for i in range(60)]
        + [node(100 + i, NOW - timedelta(days=3)) for i in range(3)]
        + [node(200 + i, NOW - timedelta(hours=5), completed=True) for i in range(2)]
        + [node(300 + i, NOW - timedelta(days=10)) for i in range(4)]
    )


async def _snapshot() -> list[tuple]:
    rows = await Checkout.all().order_by("token")
    return [
        (c.token, c.status, c.total, c.email, c.abandon_due_at, c.line_items, c.last_activity_at)
        for c in rows
    ]


async def test_import_pages_through_is_idempotent_and_never_enrolls_old_checkouts(
    installed, shopify, queue, run_jobs
):
    _history(shopify, installed.domain)
    shopify.throttle_next = 1
    seen: list[tuple[int, int | None]] = []
    first = await import_abandoned(
        installed,
        NOW - timedelta(days=7),
        now=NOW,
        queue=queue,
        progress=lambda done, total: seen.append((done, total)),
    )
    assert first.as_dict() == {
        "seen": 65,
        "new": 65,
        "enrollable": 60,
        "expired": 3,
        "completed": 2,
    }
    assert seen[-1] == (65, 65)
    pages = [r for r in shopify.graphql_requests if "abandonedCheckouts(" in r["query"]]
    assert len(pages) == 2 and pages[1]["variables"]["after"]

    recent = await Checkout.get(token="tok0001")
    assert recent.status == CheckoutStatus.OPEN and recent.email == "shopper1@example.com"
    assert (
        recent.total == Decimal("52.5") and recent.line_items[0]["variant_id"] == "49871234561234"
    )
    assert recent.line_items[0]["image_url"] == "https://cdn.shopify.com/pillow.jpg"
    old = await Checkout.get(token="tok0100")
    assert old.status == CheckoutStatus.EXPIRED and old.abandon_due_at is None
    assert (await Checkout.get(token="tok0200")).status == CheckoutStatus.COMPLETED
    assert not await Checkout.filter(token="tok0300").exists()

    before = await _snapshot()
    again = await import_abandoned(installed, NOW - timedelta(days=7), now=NOW, queue=queue)
    assert again.new == 0
    assert await _snapshot() == before

    await run_jobs()
    abandoned = await OutboxEvent.filter(name="checkout.abandoned").values_list(
        "subject_id", flat=True
    )
    tokens = set(await Checkout.filter(id__in=abandoned).values_list("token", flat=True))
    assert tokens == {f"tok{i:04d}" for i in range(60)}
    assert (await Checkout.get(token="tok0100")).status == CheckoutStatus.EXPIRED


def test_rules_for_since_and_the_horizon():
    now = datetime(2026, 1, 9, tzinfo=UTC)
    assert parse_since("7d", now) == now - timedelta(days=7)
    assert parse_since("48h", now) == now - timedelta(hours=48)
    assert parse_since("2026-01-01T00:00:00Z", now) == datetime(2026, 1, 1, tzinfo=UTC)
    horizon = timedelta(hours=48)
    assert enrollable(now - timedelta(hours=47), now, horizon)
    assert not enrollable(now - timedelta(hours=49), now, horizon)
    assert not enrollable(None, now, horizon)


async def test_cli_imports_with_a_progress_bar(installed, shopify):
    _history(shopify, installed.domain)
    env = {**os.environ, **TEST_ENV, "FOLLOWUP_SHOPIFY_ADMIN_BASE_URL": shopify.url}
    followup = Path(sys.executable).parent / "followup"
    proc = await asyncio.create_subprocess_exec(
        str(followup),
        "shopify",
        "import",
        "--store",
        str(installed.id),
        "--since",
        "7d",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    counts = json.loads(out.decode().strip().splitlines()[-1])
    assert counts["seen"] == 65 and counts["expired"] == 3
    assert await Checkout.all().count() == 65

    bad = await asyncio.create_subprocess_exec(
        str(followup),
        "shopify",
        "import",
        "--store",
        "999999",
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await bad.communicate()
    assert bad.returncode != 0 and b"no Shopify store" in err

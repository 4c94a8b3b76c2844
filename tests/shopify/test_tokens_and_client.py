"""Tokens and the Admin client against the fake: refresh, rotation races, 401, throttling, 429."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from app.integrations.shopify import tokens
from app.integrations.shopify.client import AdminClient, ShopifyError
from app.integrations.shopify.install import SHOP_QUERY
from app.stores.models import Store
from tests.shopify.conftest import SHOP


class RecordingSleep:
    """Records the waits the client asks for and yields without stalling the test."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        await asyncio.sleep(0)


def _refreshes(shopify) -> list[dict[str, Any]]:
    return [r for r in shopify.token_requests if r.get("grant_type") == "refresh_token"]


async def test_expiring_token_is_refreshed_before_use_and_rotated_token_stored(installed, shopify):
    before = json.loads(installed.credentials)
    shopify.expire_access_tokens()
    await Store.filter(id=installed.id).update(
        credentials=json.dumps({**before, "expires_at": "2020-01-01T00:00:00+00:00"})
    )
    store = await Store.get(id=installed.id)
    async with AdminClient(store) as admin:
        assert (await admin.execute(SHOP_QUERY))["shop"]["name"] == "Velvet Fern Goods"
    after = json.loads((await Store.get(id=installed.id)).credentials)
    assert after["refresh_token"] != before["refresh_token"]
    assert after["refresh_token"] in shopify.refresh_tokens
    assert before["refresh_token"] not in shopify.refresh_tokens
    assert len(_refreshes(shopify)) == 1


async def test_a_401_refreshes_once_then_retries(installed, shopify):
    shopify.expire_access_tokens()  # Shopify revoked it early; our record still says fresh
    async with AdminClient(await Store.get(id=installed.id)) as admin:
        await admin.execute(SHOP_QUERY)
    assert len(_refreshes(shopify)) == 1


async def test_two_workers_refreshing_at_once_refresh_once_and_keep_the_new_token(
    installed, shopify
):
    """Shopify's refresh tokens are single use: a second refresh with the old one would fail."""
    shopify.refresh_delay = 0.2
    creds = json.loads(installed.credentials)
    await Store.filter(id=installed.id).update(
        credentials=json.dumps({**creds, "expires_at": "2020-01-01T00:00:00+00:00"})
    )
    first, second = await Store.get(id=installed.id), await Store.get(id=installed.id)
    results = await asyncio.gather(tokens.access_token(first), tokens.access_token(second))
    assert results[0] == results[1]
    assert len(_refreshes(shopify)) == 1
    stored = json.loads((await Store.get(id=installed.id)).credentials)
    assert (
        stored["access_token"] == results[0] and stored["refresh_token"] in shopify.refresh_tokens
    )
    assert (
        await Store.get(id=installed.id)
    ).credentials_version == installed.credentials_version + 1


async def test_throttled_queries_wait_for_the_bucket_then_succeed(installed, shopify):
    shopify.throttle_next, shopify.restore_rate = 2, 100.0
    sleep = RecordingSleep()
    async with AdminClient(installed, sleep=sleep) as admin:
        data = await admin.execute(SHOP_QUERY)
    assert data["shop"]["myshopifyDomain"] == SHOP
    assert len(sleep.waits) == 2 and all(w > 0 for w in sleep.waits)


async def test_429_honours_retry_after(installed, shopify):
    shopify.rate_limit_next, shopify.retry_after = 1, "3"
    sleep = RecordingSleep()
    async with AdminClient(installed, sleep=sleep) as admin:
        await admin.execute(SHOP_QUERY)
    assert sleep.waits == [3.0]


async def test_gives_up_when_throttled_forever(installed, shopify):
    shopify.throttle_next = 100
    async with AdminClient(installed, sleep=RecordingSleep()) as admin:
        with pytest.raises(ShopifyError, match="gave up"):
            await admin.execute(SHOP_QUERY)


async def test_uninstalled_store_has_no_token(installed):
    await tokens.save(installed, None)
    with pytest.raises(tokens.NotInstalled):
        await tokens.access_token(installed)

"""Shopify fixtures: the fake Shopify server, settings pointing at it, signed queries, installed stores."""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from tortoise import connections

from app.config import Settings, use_settings
from app.integrations.shopify.install import install
from app.stores.models import Store
from tests.conftest import SHOPIFY_SECRET, TEST_ENV
from tests.fakes.shopify import FakeShopify, start

SHOP = "velvet-fern-goods.myshopify.com"


@pytest.fixture(scope="session")
def fake_server() -> Iterator[FakeShopify]:
    fake = FakeShopify(api_key=TEST_ENV["FOLLOWUP_SHOPIFY_API_KEY"], api_secret=SHOPIFY_SECRET)
    server, thread = start(fake)
    yield fake
    server.should_exit = True
    thread.join(timeout=5)


@pytest.fixture
async def shopify(settings: Settings, fake_server: FakeShopify) -> AsyncIterator[FakeShopify]:
    """The fake Shopify, emptied, with FollowUp's settings pointing at it for this test."""
    fake_server.reset()
    pointed = dataclasses.replace(
        settings, shopify=dataclasses.replace(settings.shopify, admin_base_url=fake_server.url)
    )
    use_settings(pointed)
    yield fake_server
    use_settings(settings)


def sign_query(params: dict[str, Any], secret: str = SHOPIFY_SECRET) -> dict[str, Any]:
    """Shopify's query signature, written from the documented rules (independent of our code)."""
    params = {"timestamp": str(int(time.time())), **params}
    pairs = []
    for key, value in params.items():
        if key in ("hmac", "signature"):
            continue
        pairs.append(
            f"{key.replace('%', '%25').replace('=', '%3D').replace('&', '%26')}="
            f"{str(value).replace('%', '%25').replace('&', '%26')}"
        )
    message = "&".join(sorted(pairs))
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).hexdigest()
    return {**params, "hmac": digest}


@pytest.fixture
async def installed(shopify: FakeShopify) -> Store:
    """A store installed through the real install service against the fake."""
    code = shopify.issue_code(SHOP)
    _, grant = await shopify.access_token(
        {
            "client_id": shopify.api_key,
            "client_secret": shopify.api_secret,
            "code": code,
            "expiring": "1",
        }
    )
    shopify.token_requests.clear()
    return await install(SHOP, grant)


async def rows_mentioning(*values: str) -> list[tuple[str, str, str]]:
    """Every (table, column, value) where a value still appears, searching all columns of all tables."""
    conn = connections.get("default")
    sqlite = conn.capabilities.dialect == "sqlite"
    columns = await conn.execute_query_dict(
        "SELECT m.name AS table_name, c.name AS column_name FROM sqlite_master m, "
        "pragma_table_info(m.name) c WHERE m.type = 'table' ORDER BY 1, 2"
        if sqlite
        else "SELECT table_name, column_name FROM information_schema.columns "
        "WHERE table_schema = 'public' ORDER BY table_name, column_name"
    )
    # SQLite's LIKE ignores ASCII case and compares any column as text.
    match = "CAST({} AS TEXT) LIKE ?" if sqlite else "{}::text ILIKE $1"
    found = []
    for col in columns:
        table, column = col["table_name"], col["column_name"]
        for value in values:
            rows = await conn.execute_query_dict(
                f'SELECT count(*) AS n FROM "{table}" WHERE ' + match.format(f'"{column}"'),
                [f"%{value}%"],
            )
            if rows[0]["n"]:
                found.append((table, column, value))
    return found

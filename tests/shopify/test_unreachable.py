"""When Shopify cannot be reached mid-install, the merchant gets a page that says so, never a 500."""

from __future__ import annotations

import dataclasses
import logging
import socket
from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest

from app.config import Settings, use_settings
from app.stores.models import Store
from tests.fakes.shopify import FakeShopify
from tests.shopify.conftest import SHOP, sign_query

COOKIE = "followup_shopify_state"


@pytest.fixture
def nothing_listening(settings: Settings) -> Iterator[str]:
    """FollowUp pointed at a loopback port where nothing listens: every connection is refused."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    use_settings(
        dataclasses.replace(
            settings, shopify=dataclasses.replace(settings.shopify, admin_base_url=url)
        )
    )
    yield url
    use_settings(settings)


def _assert_unreachable_page(response, url: str) -> None:
    assert response.status_code == 502, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert "could not reach Shopify" in page
    assert "Try again" in page
    assert f'href="{url}/admin/apps/test-api-key"' in page
    assert "Traceback" not in page and "ConnectError" not in page
    assert (
        "frame-ancestors https://velvet-fern-goods.myshopify.com"
        in (response.headers["content-security-policy"])
    )


def _logged(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [
        r
        for r in caplog.records
        if r.levelno >= logging.WARNING and getattr(r, "ctx", {}).get("shop") == SHOP
    ]


async def test_callback_shows_a_page_and_logs_when_shopify_is_unreachable(
    client, nothing_listening, caplog
):
    caplog.set_level("INFO")
    started = await client.get(
        "/shopify/install", params=sign_query({"shop": SHOP}), follow_redirects=False
    )
    state = parse_qs(urlsplit(started.headers["location"]).query)["state"][0]
    response = await client.get(
        "/shopify/callback",
        params=sign_query({"shop": SHOP, "code": "a-code", "state": state}),
        follow_redirects=False,
    )
    _assert_unreachable_page(response, nothing_listening)
    assert _logged(caplog), [r.getMessage() for r in caplog.records]
    assert await Store.all().count() == 0


async def test_managed_install_shows_a_page_and_logs_when_shopify_is_unreachable(
    client, fake_server: FakeShopify, nothing_listening, caplog
):
    caplog.set_level("INFO")
    response = await client.get(
        "/shopify/install",
        params=sign_query({"shop": SHOP, "host": "h", "id_token": fake_server.session_token(SHOP)}),
        follow_redirects=False,
    )
    _assert_unreachable_page(response, nothing_listening)
    assert 'target="_top"' in response.text
    assert _logged(caplog)
    assert await Store.all().count() == 0

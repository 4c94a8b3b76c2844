"""Login limits hold: one key per account whatever its spelling, one per address, closed without Redis."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from litestar import Litestar
from redis.asyncio import Redis

from app.accounts import sessions
from app.accounts.models import Role
from app.accounts.services import create_agent
from app.config import Settings
from app.server import create_app
from tests.factories import make_store

PASSWORD = "correct horse battery"
OWNER = "owner@shop.example"


@pytest.fixture
async def app(settings: Settings) -> AsyncIterator[Litestar]:
    app = create_app(settings, manage_db=False)
    async with LifespanManager(app):
        yield app


@pytest.fixture
async def browser_at(app: Litestar) -> AsyncIterator[Callable[[str], Any]]:
    """A browser (its own cookie jar) calling from one client address."""
    async with AsyncExitStack() as stack:

        async def open_from(ip: str) -> httpx.AsyncClient:
            transport = httpx.ASGITransport(app=app, client=(ip, 40000))
            browser = httpx.AsyncClient(transport=transport, base_url="https://app.example.com")
            return await stack.enter_async_context(browser)

        yield open_from


async def login(browser: httpx.AsyncClient, email: str, password: str) -> httpx.Response:
    page = await browser.get("/login")
    token = re.search(r'name="login_csrf" value="([^"]+)"', page.text).group(1)
    return await browser.post(
        "/login", data={"email": email, "password": password, "login_csrf": token}
    )


async def _owner() -> None:
    issued = await make_store("custom")
    await create_agent(issued.store, OWNER, Role.OWNER, password=PASSWORD)


async def test_spaces_around_the_email_do_not_reset_the_account_limit(browser_at):
    await _owner()
    browser = await browser_at("198.51.100.7")
    spellings = [f"{' ' * i}{OWNER.upper() if i % 2 else OWNER}{chr(9) * i}" for i in range(12)]
    statuses = [(await login(browser, email, "wrong password!")).status_code for email in spellings]
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    right = await login(browser, f"  {OWNER} ", PASSWORD)
    assert right.status_code == 429 and "Too many attempts" in right.text
    assert sessions.COOKIE not in right.cookies


async def test_one_account_is_limited_across_many_addresses(browser_at):
    await _owner()
    statuses = []
    for i in range(12):
        browser = await browser_at(f"203.0.113.{i + 1}")
        statuses.append((await login(browser, OWNER, "wrong password!")).status_code)
    assert statuses[:10] == [401] * 10 and statuses[10:] == [429, 429]
    late = await login(await browser_at("203.0.113.99"), OWNER, PASSWORD)
    assert late.status_code == 429


async def test_spraying_many_emails_from_one_address_is_limited(browser_at):
    await _owner()
    sprayer = await browser_at("192.0.2.66")
    statuses = [
        (await login(sprayer, f"user{i}@shop.example", "Summer2026!")).status_code
        for i in range(30)
    ]
    assert statuses[:20] == [401] * 20 and set(statuses[20:]) == {429}
    # Another address is not punished for this one's spraying.
    elsewhere = await login(await browser_at("192.0.2.67"), OWNER, PASSWORD)
    assert elsewhere.status_code == 303


async def test_without_redis_the_login_limiter_refuses_clearly(app, browser_at, unused_tcp_port):
    await _owner()
    browser = await browser_at("198.51.100.8")
    live = app.state.redis
    app.state.redis = Redis.from_url(f"redis://127.0.0.1:{unused_tcp_port}/0")
    try:
        refused = await login(browser, OWNER, PASSWORD)
    finally:
        await app.state.redis.aclose()
        app.state.redis = live
    assert refused.status_code == 503
    assert "cannot check sign-in attempts right now" in refused.text
    assert sessions.COOKIE not in refused.cookies
    assert (await login(browser, OWNER, PASSWORD)).status_code == 303

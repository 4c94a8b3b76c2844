"""The install tag the dashboard prints, alone on a shop page, in headless Chromium.

A page holding only `<script src=".../followup.js" data-key="fu_pk_…" async>` and `data-followup`
inputs must send events (a contact with SMS consent lands in the database); a misconfigured tag
must say what is wrong in the console, in words.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from html import escape
from typing import Any

import pytest
import uvicorn
from litestar import Litestar, MediaType, get
from playwright.async_api import Page, async_playwright

from app.checkouts.models import Checkout, ConsentEvent, Contact
from app.config import Settings
from app.server import create_app
from app.worker import build_worker
from tests.factories import CHROMIUM, CHROMIUM_ARGS, free_port, make_store

pytestmark = pytest.mark.browser

APP_PORT, SHOP_PORT = free_port(), free_port()
APP_URL, SHOP_URL = f"http://127.0.0.1:{APP_PORT}", f"http://127.0.0.1:{SHOP_PORT}"


@get("/tag", media_type=MediaType.HTML)
async def tag_page(key: str | None = None) -> str:
    """A shop page with the dashboard's tag as printed, plus the marked inputs; nothing else."""
    data_key = f' data-key="{escape(key)}"' if key is not None else ""
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Shop</title><link rel="icon" href="data:,">
<script src="{APP_URL}/static/followup.js"{data_key} async></script></head><body>
<input id="email" type="email" data-followup="email">
<input id="phone" type="tel" data-followup="phone">
<label><input id="sms" type="checkbox" data-followup="sms_consent"> Text me</label>
</body></html>"""


async def _serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.02)
    return server, task


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[None]:
    app_server, app_task = await _serve(create_app(settings, manage_db=False), APP_PORT)
    shop_server, shop_task = await _serve(Litestar(route_handlers=[tag_page]), SHOP_PORT)
    worker = build_worker(settings, manage_db=False, cron_jobs=[], poll_delay=0.05)
    worker_task = asyncio.create_task(worker.async_run())
    try:
        yield
    finally:
        worker_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await worker_task
        await worker.close()
        for server, task in ((shop_server, shop_task), (app_server, app_task)):
            server.should_exit = True
            await task


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def _open(chromium: Any, query: str) -> tuple[Page, list[str]]:
    page = await (await chromium.new_context()).new_page()
    said: list[str] = []
    page.on("console", lambda m: said.append(f"{m.type}: {m.text}"))
    await page.goto(f"{SHOP_URL}/tag{query}")
    await page.wait_for_function("typeof window.followup === 'function'")
    return page, said


async def _until(check: Any, seconds: float = 15.0) -> Any:
    """What `check` finds, waiting for it as long as a loaded machine may need (a round trip
    through the app, and for captures the worker)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = await check()
        if found:
            return found
        await asyncio.sleep(0.05)
    return None


async def test_the_tag_alone_captures_the_contact_and_the_sms_consent(
    live: None, chromium: Any
) -> None:
    store = (await make_store("custom", domain=f"127.0.0.1:{SHOP_PORT}")).store
    page, said = await _open(chromium, f"?key={store.publishable_key}")
    await page.locator("#sms").check()
    await page.locator("#phone").fill("+1 415 555 0173")
    await page.locator("#email").press_sequentially("maya.okafor@example.com", delay=10)

    async def consented() -> Contact | None:
        return await Contact.get_or_none(email="maya.okafor@example.com", sms_consent=True)

    contact = await _until(consented)
    assert contact is not None, f"nothing captured; console: {said}"
    assert contact.phone == "+14155550173" and contact.sms_consent_source == "web_snippet"
    event = await ConsentEvent.get(contact_id=contact.id, channel="sms")
    assert (event.action, event.source, event.actor) == ("opt_in", "web_snippet", "shopper")
    assert event.occurred_at is not None
    assert not [line for line in said if line.startswith(("warning", "error"))], said


async def test_a_misconfigured_tag_says_what_is_wrong(live: None, chromium: Any) -> None:
    store = (await make_store("custom", domain="shop.example.com")).store
    cases = [
        ("", "no publishable key. Add data-key="),
        ("?key=fu_pk_…", "is not a publishable key: copy the one that starts with fu_pk_"),
        ("?key=fu_sk_abcdefghijklmnop", "secret API token: never put it in a web page"),
        ("?key=fu_pk_NoSuchStore123456", 'no store has the publishable key "fu_pk_NoSuchStore'),
        (f"?key={store.publishable_key}", f"this site ({SHOP_URL}) is not one of the store's"),
    ]
    for query, words in cases:
        page, said = await _open(chromium, query)
        await page.locator("#email").press_sequentially("sam@example.com", delay=5)

        async def warned(said: list[str] = said, words: str = words) -> bool:
            return any(line.startswith("warning: FollowUp: ") and words in line for line in said)

        assert await _until(warned), f"{query!r}: expected {words!r}, console said {said}"
        await page.context.close()
    assert await Checkout.all().count() == 0

"""The JS snippet in headless Chromium against the real app, worker, PostgreSQL and Redis.

A demo shop on its own origin includes the snippet; typing an email must leave a processed
Checkout (contact and cart) in the database within two seconds, and the checkout's recovery_url
must bring back the same cart in a fresh browser.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import uvicorn
from aiosmtpd.controller import Controller
from litestar import Litestar
from litestar.static_files import create_static_files_router
from playwright.async_api import Page, async_playwright

from app.checkouts.models import Checkout, Contact
from app.checkouts.services import mark_abandoned
from app.config import Settings
from app.core.timeutil import utcnow
from app.ingest.models import RawEvent, RawStatus
from app.integrations.smtp.sender import SmtpEmailSender
from app.messaging.providers import DevOutboxSender
from app.recovery.models import Click
from app.recovery.sending import Deps, run_step
from app.recovery.services import enroll
from app.server import create_app
from app.web.assets import STATIC_DIR
from app.worker import build_worker
from tests.factories import CHROMIUM_ARGS, free_port, make_store

pytestmark = pytest.mark.browser


APP_PORT, SHOP_PORT = free_port(), free_port()  # chosen per run: nothing else may hold them
APP_URL, SHOP_URL = f"http://127.0.0.1:{APP_PORT}", f"http://127.0.0.1:{SHOP_PORT}"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def _serve(app: Any, port: int) -> tuple[uvicorn.Server, asyncio.Task[None]]:
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    for _ in range(200):
        if server.started:
            return server, task
        await asyncio.sleep(0.02)
    raise RuntimeError(f"server on port {port} did not start")


@pytest.fixture
async def live(settings: Settings) -> AsyncIterator[None]:
    """The app and a worker on loopback, plus a separate-origin shop serving the demo page."""
    shop = Litestar(
        route_handlers=[create_static_files_router(path="/", directories=[STATIC_DIR / "demo"])]
    )
    app_server, app_task = await _serve(create_app(settings, manage_db=False), APP_PORT)
    shop_server, shop_task = await _serve(shop, SHOP_PORT)
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
        launched = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


async def _shop_store() -> str:
    issued = await make_store("custom", domain=f"127.0.0.1:{SHOP_PORT}", name="Velvet Fern Goods")
    return issued.store.publishable_key


# How long a test waits for the capture to reach the database. The snippet posts within a
# fraction of a second; the wait is long because a test must not fail on a busy machine (how fast
# capture is, is measured by bench/ingest.py, not asserted here).
CAPTURE_WAIT = 20.0


async def _checkout_with(email: str, deadline: float) -> Checkout | None:
    """The checkout once every event the snippet posted so far is processed: a checkout row is
    written before its abandonment time, so reading it at first sight may catch it half-way."""
    while time.monotonic() < deadline:
        found = await Checkout.filter(email=email).first()
        if found is not None and not await RawEvent.exists(
            store_id=found.store_id, status=RawStatus.PENDING
        ):
            return found
        await asyncio.sleep(0.05)
    return None


async def _events_seen() -> list[tuple[str, str, str | None]]:
    """What reached the app so far, for a failure's message: no rows means nothing arrived."""
    return [(raw.topic, str(raw.status), raw.error) for raw in await RawEvent.all().order_by("id")]


async def _type_email(page: Page, email: str) -> float:
    await page.locator("#first_name").fill("Maya")
    await page.locator("#email").press_sequentially(email, delay=15)
    return time.monotonic()


async def test_typing_an_email_captures_contact_and_cart_then_magic_link_restores_it(
    live: None, chromium: Any, settings: Settings
) -> None:
    key = await _shop_store()
    ARTIFACTS.mkdir(exist_ok=True)
    context = await chromium.new_context()
    page = await context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    await page.goto(f"{SHOP_URL}/checkout.html?" + urlencode({"key": key, "endpoint": APP_URL}))
    await page.wait_for_function("typeof window.followup === 'function' && !window.followup.q")

    typed_at = await _type_email(page, "maya.okafor@example.com")
    checkout = await _checkout_with("maya.okafor@example.com", typed_at + CAPTURE_WAIT)
    await page.screenshot(path=str(ARTIFACTS / "snippet-checkout.png"), full_page=True)
    assert checkout is not None, f"no checkout; console: {errors}; events: {await _events_seen()}"

    assert checkout.platform == "custom" and checkout.currency == "USD"
    assert [(i["title"], i["quantity"], i["unit_price"]) for i in checkout.line_items] == [
        ("Stoneware Mug", 2, "22.00"),
        ("Cedar Candle", 1, "18.50"),
    ]
    assert checkout.total == Decimal("62.50")
    assert checkout.visitor_id and checkout.recovery_url.startswith(f"{SHOP_URL}/checkout.html?")
    contact = await Contact.get(email="maya.okafor@example.com")
    assert contact.first_name == "Maya"
    assert not errors, errors

    # The shopper leaves; the recovery engine emails them; the email's magic link restores the cart.
    link = await _recovery_email_link(checkout, settings)
    fresh = await chromium.new_context()  # another browser: no localStorage, no cookies
    restored = await fresh.new_page()
    await restored.goto(link)
    await restored.wait_for_selector("#restored:not([hidden])")
    assert (
        restored.url.startswith(f"{SHOP_URL}/checkout.html?")
        and "utm_source=followup" in restored.url
    )
    lines = await restored.locator(".line .name").all_inner_texts()
    assert lines == ["Stoneware Mug × 2", "Cedar Candle × 1"]
    assert await restored.locator("#total").inner_text() == "$62.50"
    await restored.screenshot(path=str(ARTIFACTS / "snippet-restored-cart.png"), full_page=True)
    assert await Click.filter(checkout_id=checkout.id).count() == 1
    await asyncio.sleep(0.5)
    assert await Checkout.all().count() == 1, "the restored page reports the same checkout"
    await fresh.close()
    await context.close()


async def _recovery_email_link(checkout: Checkout, settings: Settings) -> str:
    """Abandon the cart, let the engine run its first steps, and read the link from the email sent."""
    await Checkout.filter(id=checkout.id).update(abandon_due_at=utcnow() - timedelta(seconds=1))
    assert await mark_abandoned(checkout.id) is not None
    enrollment = await enroll(checkout.id)
    assert enrollment is not None
    received: list[EmailMessage] = []

    class Mailbox:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            received.append(message_from_bytes(envelope.content, policy=default))
            return "250 OK"

    port = free_port()
    smtp = Controller(Mailbox(), hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        # Tomorrow at 15:00 UTC: past the one-hour email step, inside quiet hours for a UTC store.
        later = (utcnow() + timedelta(days=1)).replace(hour=15, minute=0, second=0, microsecond=0)
        deps = Deps(
            settings=settings,
            sms=DevOutboxSender(),
            email=SmtpEmailSender(f"smtp://127.0.0.1:{port}"),
            clock=lambda: later,
        )
        for step in range(2):  # SMS first (skipped: no SMS consent), then the reminder email
            await run_step(deps, enrollment.id, step)
    finally:
        smtp.stop()
    [mail] = received
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    text = mail.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"https://app\.example\.com(/r/[A-Za-z0-9.\-_]+)", text)
    assert found, text
    return f"{APP_URL}{found.group(1)}"


async def test_nothing_is_sent_before_consent(live: None, chromium: Any) -> None:
    key = await _shop_store()
    context = await chromium.new_context()
    page = await context.new_page()
    query = urlencode({"key": key, "endpoint": APP_URL, "consent": "required"})
    await page.goto(f"{SHOP_URL}/checkout.html?{query}")
    await page.wait_for_function("typeof window.followup === 'function' && !window.followup.q")
    await _type_email(page, "no.consent.yet@example.com")
    await asyncio.sleep(1.2)
    assert await RawEvent.all().count() == 0

    await page.evaluate("followup('consent', true)")
    checkout = await _checkout_with("no.consent.yet@example.com", time.monotonic() + CAPTURE_WAIT)
    assert checkout is not None, f"no checkout; events: {await _events_seen()}"
    assert len(checkout.line_items) == 2
    await context.close()


async def test_a_shopper_who_pauses_mid_address_is_reached_at_the_whole_address(
    live: None, chromium: Any
) -> None:
    """An address cut short at "…@example.co" is valid, so a pause there is captured; the rest,
    typed a moment later, replaces it on the same checkout."""
    key = await _shop_store()
    page = await (await chromium.new_context()).new_page()
    await page.goto(f"{SHOP_URL}/checkout.html?" + urlencode({"key": key, "endpoint": APP_URL}))
    await page.wait_for_function("typeof window.followup === 'function' && !window.followup.q")
    await page.locator("#email").press_sequentially("maya.okafor@example.co", delay=15)
    first = await _checkout_with("maya.okafor@example.co", time.monotonic() + CAPTURE_WAIT)
    assert first is not None, f"no checkout; events: {await _events_seen()}"

    await page.locator("#email").press_sequentially("m")
    whole = await _checkout_with("maya.okafor@example.com", time.monotonic() + CAPTURE_WAIT)
    assert whole is not None, f"not corrected; events: {await _events_seen()}"
    assert whole.id == first.id and await Checkout.all().count() == 1
    await page.context.close()


async def test_leaving_the_checkout_page_abandons_the_cart_early(live: None, chromium: Any) -> None:
    """Idle time is an hour; the store also counts from exits, 2 s after leaving: navigating away
    from the checkout page must abandon the cart within seconds, not an hour later."""
    issued = await make_store(
        "custom",
        domain=f"127.0.0.1:{SHOP_PORT}",
        name="Velvet Fern Goods",
        abandon_after_seconds=3600,
    )
    await issued.store.__class__.filter(id=issued.store.id).update(
        settings={"abandon_after_exit_seconds": 2}
    )
    context = await chromium.new_context()
    page = await context.new_page()
    query = urlencode({"key": issued.store.publishable_key, "endpoint": APP_URL})
    await page.goto(f"{SHOP_URL}/checkout.html?{query}")
    await page.wait_for_function("typeof window.followup === 'function' && !window.followup.q")
    typed_at = await _type_email(page, "leaving.soon@example.com")
    checkout = await _checkout_with("leaving.soon@example.com", typed_at + CAPTURE_WAIT)
    assert checkout is not None, f"no checkout; events: {await _events_seen()}"
    assert checkout.exited_at is None
    idle_due = checkout.abandon_due_at
    assert idle_due is not None and idle_due > utcnow() + timedelta(minutes=50)

    await page.goto(f"{SHOP_URL}/mug.svg")  # the shopper walks away: pagehide on the checkout
    deadline = time.monotonic() + 60.0  # generous for a loaded machine; idle time would be an hour
    while time.monotonic() < deadline:
        await checkout.refresh_from_db()
        if checkout.status == "abandoned":
            break
        await asyncio.sleep(0.1)
    assert checkout.exited_at is not None, "no exit reached the app"
    assert checkout.status == "abandoned", "the exit threshold did not abandon the cart"
    assert checkout.abandoned_at is not None and checkout.abandoned_at < idle_due - timedelta(
        minutes=50
    )
    await context.close()

"""The live dashboard in Chromium: signed Shopify webhooks on one instance move the tiles of a
dashboard served by another, through Redis, without a reload."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from email.message import EmailMessage
from typing import Any

import httpx
import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import Page, async_playwright, expect

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.checkouts.models import Checkout, CheckoutStatus
from app.config import Settings, use_settings
from app.core import events
from app.core.outbox import OutboxEvent
from app.core.timeutil import utcnow
from app.integrations.smtp.sender import SmtpEmailSender
from app.messaging.providers import DevOutboxSender
from app.recovery.models import Enrollment, Flow, FlowStep, StepChannel
from app.recovery.sending import Deps, run_step
from inbox import listeners
from tests.browser.test_dashboard_browser import ARTIFACTS, LAPTOP, PASSWORD
from tests.factories import (
    CHROMIUM,
    CHROMIUM_ARGS,
    free_port,
    make_store,
    payload,
    shopify_headers,
)
from tests.inbox.conftest import LiveServer

pytestmark = pytest.mark.browser
OWNER = "owner@velvet.example"
FIRST_EMAIL_SECONDS = 3


@pytest.fixture
async def two_instances(settings: Settings) -> AsyncIterator[tuple[LiveServer, LiveServer]]:
    """A receives the webhooks; B serves the dashboard (its public URL, so cookies and the
    websocket's origin check are B's). Both share the database and Redis, like two replicas."""
    port = free_port()
    local = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, public_url=f"http://127.0.0.1:{port}")
    )
    use_settings(local)
    first = await LiveServer(local).start()
    second = await LiveServer(local, port).start()
    yield first, second
    await second.stop()
    await first.stop()
    use_settings(settings)


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        await browser.close()


async def _post(server: LiveServer, topic: str, doc: dict[str, Any]) -> None:
    body = json.dumps(doc).encode()
    async with httpx.AsyncClient() as http:
        response = await http.post(
            server.url + "/webhooks/shopify", content=body, headers=shopify_headers(body, topic)
        )
    assert response.status_code == 200, response.text


async def _settle(run_jobs: Any, *names: str) -> None:
    """Burst workers until the named outbox events are dispatched (each job may queue more)."""
    for _ in range(6):
        await run_jobs()
        if not await OutboxEvent.filter(name__in=names, dispatched_at=None).exists():
            return
    raise AssertionError(f"{names} left undispatched")


async def _first_email(checkout: Checkout, settings: Settings) -> None:
    """The recovery engine's own send path emails the shopper (SMTP on loopback) once it is due."""
    enrollment = await Enrollment.get(checkout_id=checkout.id)
    if enrollment.next_due_at:  # the real clock: the step falls due seconds after abandonment
        await asyncio.sleep(max((enrollment.next_due_at - utcnow()).total_seconds(), 0) + 0.05)
    port = free_port()

    class Mailbox:
        received: list[EmailMessage] = []

        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            self.received.append(envelope)
            return "250 OK"

    box = Mailbox()
    smtp = Controller(box, hostname="127.0.0.1", port=port)
    smtp.start()
    try:
        deps = Deps(
            settings=settings,
            sms=DevOutboxSender(),
            email=SmtpEmailSender(f"smtp://127.0.0.1:{port}"),
            clock=utcnow,
        )
        assert await run_step(deps, enrollment.id, 0) == "sent"
    finally:
        smtp.stop()
    assert box.received, "the recovery email went out"


async def _login(page: Page, base: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#email", OWNER)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/dashboard")


async def test_a_webhook_on_one_instance_moves_the_tiles_on_another(
    two_instances: tuple[LiveServer, LiveServer], chromium: Any, run_jobs: Any, settings: Settings
) -> None:
    receiver, dashboard = two_instances
    store = (await make_store("shopify", timezone="UTC")).store
    await create_agent(store, OWNER, Role.OWNER, password=PASSWORD)
    # The merchant's flow emails first, seconds after abandonment (stats count no future order,
    # so the whole story happens now); the burst workers leave that step to the engine below.
    flow = await Flow.get(store_id=store.id)
    await FlowStep.filter(flow_id=flow.id, position=0).update(
        channel=StepChannel.EMAIL, delay_seconds=FIRST_EMAIL_SECONDS
    )
    period = (
        f"from={(utcnow() - timedelta(days=6)).date()}&to={(utcnow() + timedelta(days=1)).date()}"
    )

    context = await chromium.new_context(viewport=LAPTOP)
    page = await context.new_page()
    await _login(page, dashboard.url)
    await page.goto(f"{dashboard.url}/dashboard?{period}")
    await expect(page.get_by_test_id("live-state")).to_have_text("Live")
    await expect(page.get_by_test_id("tile-abandoned")).to_have_text("0")
    await expect(page.get_by_test_id("empty")).to_be_visible()  # the first-run note
    await expect(page.get_by_test_id("tile-revenue")).to_have_text("$0.00")
    await page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # The shopper left checkout an hour ago: the webhook makes it abandoned at once.
    cart = payload("shopify_checkouts_create.json")
    cart["updated_at"] = (utcnow() - timedelta(hours=1)).isoformat()
    await _post(receiver, "checkouts/create", cart)
    await _settle(run_jobs, events.CHECKOUT_ABANDONED)
    checkout = await Checkout.get(store_id=store.id)
    assert checkout.status == CheckoutStatus.ABANDONED
    await expect(page.get_by_test_id("tile-abandoned")).to_have_text("1", timeout=10_000)
    await expect(page.get_by_test_id("empty")).to_have_count(0)  # gone with the first cart
    await expect(page.locator("#live-trend svg")).to_be_visible()  # the trend drew its first day
    await page.screenshot(path=str(ARTIFACTS / "live-dashboard-abandoned.png"), full_page=False)

    # Our email goes out, then the order arrives on the other instance: recovered revenue moves.
    await _first_email(checkout, settings)
    order = payload("shopify_orders_create.json")
    order["created_at"] = order["processed_at"] = utcnow().isoformat()
    await _post(receiver, "orders/create", order)
    await _settle(run_jobs, events.CHECKOUT_RECOVERED, events.ORDER_RECORDED)
    assert (await Checkout.get(id=checkout.id)).status == CheckoutStatus.RECOVERED
    await expect(page.get_by_test_id("tile-revenue")).to_have_text("$106.20", timeout=10_000)
    await expect(page.get_by_test_id("tile-rate")).to_have_text("100.0%")
    # Every card follows, not only the tiles: the flow's results and the funnel agree with them.
    # (The store's one flow is picked: its own results, steps and attribution.)
    await expect(page.get_by_test_id("flow-entered")).to_have_text("1")
    await expect(page.get_by_test_id("flow-ordered")).to_have_text("1 · $106.20")
    await expect(page.get_by_test_id("tile-revenue").locator("+ .hint")).to_have_text("1 order")
    assert await page.evaluate("window.__sameDocument === true"), "the page was reloaded"
    await page.screenshot(path=str(ARTIFACTS / "live-dashboard-recovered.png"), full_page=False)
    await context.close()


async def test_a_burst_of_a_thousand_changes_costs_the_page_a_few_refetches(
    two_instances: tuple[LiveServer, LiveServer], chromium: Any
) -> None:
    _, dashboard = two_instances
    store = (await make_store("shopify", timezone="UTC")).store
    await create_agent(store, OWNER, Role.OWNER, password=PASSWORD)
    page = await (await chromium.new_context(viewport=LAPTOP)).new_page()
    await _login(page, dashboard.url)
    await expect(page.get_by_test_id("live-state")).to_have_text("Live")
    refetches: list[str] = []
    page.on("request", lambda r: refetches.append(r.url) if "/dashboard/live" in r.url else None)
    started = time.monotonic()
    for n in range(1000):  # a webhook storm, as the outbox dispatchers announce it
        event = OutboxEvent(name=events.CHECKOUT_ABANDONED, store_id=store.id, subject_id=n)
        await listeners.stats_changed(event)
    burst = time.monotonic() - started
    await expect(page.get_by_test_id("live-state")).to_contain_text("updated", timeout=10_000)
    await page.wait_for_timeout(2500)  # any refetch still to come would have started by now
    allowed = 2 + int(burst)  # one per quiet second at most, plus the trailing one
    assert 1 <= len(refetches) <= allowed, (len(refetches), burst)

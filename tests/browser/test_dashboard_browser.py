"""Headless Chromium against a real uvicorn: dashboard totals equal the API, the flow editor saves and previews."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from playwright.async_api import Page, async_playwright

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.config import use_settings
from app.recovery.models import FlowStep
from app.server import create_app
from tests.analytics.flow_seed import seed_two_flows
from tests.analytics.seed import seed_store
from tests.factories import CHROMIUM, CHROMIUM_ARGS, free_port, make_store

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "correct horse battery"
LAPTOP, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}


@pytest.fixture
async def server(settings: Any) -> AsyncIterator[str]:
    port = free_port()
    # Links and preview images point at the public URL: here, this very server.
    local = dataclasses.replace(
        settings, server=dataclasses.replace(settings.server, public_url=f"http://127.0.0.1:{port}")
    )
    use_settings(local)
    config = uvicorn.Config(
        create_app(local, manage_db=False),
        host="127.0.0.1",
        port=port,
        log_level="warning",
        lifespan="on",
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    await task
    use_settings(settings)


@pytest.fixture
async def browser() -> AsyncIterator[Any]:
    async with async_playwright() as p:
        instance = await p.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield instance
        await instance.close()


async def _login(page: Page, base: str, email: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}/dashboard")


async def test_dashboard_shows_the_api_totals(server: str, browser: Any) -> None:
    seeded = await seed_store()
    await create_agent(seeded.store, "owner@velvet.example", Role.OWNER, password=PASSWORD)
    async with httpx.AsyncClient() as http:
        api = (
            await http.get(
                f"{server}/api/v1/stats", headers={"Authorization": f"Bearer {seeded.token}"}
            )
        ).json()
    ARTIFACTS.mkdir(exist_ok=True)
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await browser.new_context(viewport=viewport)
        page = await context.new_page()
        await _login(page, server, "owner@velvet.example")
        revenue = Decimal(api["attribution"]["recovered"]["revenue"])
        assert await page.inner_text("[data-testid=tile-revenue]") == f"${revenue:,.2f}"
        assert await page.inner_text("[data-testid=tile-abandoned]") == str(
            api["funnel"]["abandoned"]
        )
        assert await page.inner_text("[data-testid=attr-total-orders]") == str(
            api["attribution"]["total"]["orders"]
        )
        assert await page.inner_text("[data-testid=conversations]") == str(
            api["conversations"]["conversations"]
        )
        assert await page.locator("svg.chart rect.bar").count() == len(api["daily"])
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name}: page scrolls sideways by {overflow}px"
        await page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)
        await context.close()


async def _owner_page(server: str, browser: Any) -> tuple[Any, Any, Any]:
    """A store with its default flow, and a laptop-sized page logged in as its owner."""
    seeded = await make_store("shopify", name="Velvet Fern")
    await create_agent(seeded.store, "owner@velvet.example", Role.OWNER, password=PASSWORD)
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    await _login(page, server, "owner@velvet.example")
    return seeded, context, page


async def test_flow_editor_saves_and_the_preview_updates(server: str, browser: Any) -> None:
    seeded, context, page = await _owner_page(server, browser)
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{server}/flows")
    sms = page.locator("[data-testid=sms-preview]")
    await sms.wait_for()
    await page.fill(
        "[data-testid=body-0-0]", "Hi {{ first_name }}, your mug is waiting " + "ł" * 80
    )
    await page.wait_for_function(
        "document.querySelector('[data-testid=sms-preview]').textContent.includes('Hi Jane, your mug')"
    )
    meta = await page.inner_text("[data-testid=sms-meta]")
    assert meta.startswith("3 segments · UCS-2"), meta  # 80 non-GSM letters push it past 2 x 67
    await page.click("[data-testid=subject-1-0]")
    await page.fill("[data-testid=subject-1-0]", "Still there, {{ first_name }}?")
    await page.wait_for_function(
        "document.querySelector('[data-testid=email-subject]').textContent === 'Still there, Jane?'"
    )
    srcdoc = await page.get_attribute("[data-testid=email-frame]", "srcdoc")
    assert srcdoc and "Coffee mug" in srcdoc
    assert await page.get_attribute("[data-testid=email-frame]", "sandbox") == ""
    await page.fill("#flow-holdout", "10")
    await page.click("#save")
    await page.wait_for_function(
        "document.getElementById('status').textContent.startsWith('Saved')"
    )
    steps = await FlowStep.filter(flow__store_id=seeded.store.id).order_by("position")
    assert steps[0].variants[0]["body"].startswith("Hi {{ first_name }}, your mug")
    assert steps[1].variants[0]["subject"] == "Still there, {{ first_name }}?"
    await page.screenshot(path=str(ARTIFACTS / "flows-laptop.png"), full_page=True)
    await page.set_viewport_size(PHONE)
    await page.screenshot(path=str(ARTIFACTS / "flows-phone.png"), full_page=True)
    await page.fill("[data-testid=delay-0]", "0")
    await page.fill("[data-testid=delay-1]", "0")
    await page.click("#save")
    await page.locator("#problem").wait_for(state="visible")
    assert "Step 2, wait" in await page.inner_text("#problem")
    assert [e for e in errors if "422" not in e] == []  # the refused save above is the only failure
    await context.close()


async def test_flow_editor_turns_the_sms_step_into_an_auto_step(server: str, browser: Any) -> None:
    seeded, context, page = await _owner_page(server, browser)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{server}/flows")
    await page.locator("[data-testid=sms-preview]").wait_for()
    await page.select_option("[data-testid=channel-0]", "auto")
    # The SMS the merchant wrote became the text-message part; the email part is there too.
    text = await page.input_value("[data-testid=sms-body-0-0]")
    assert text.startswith("Hi {{ first_name or 'there' }}, it's {{ store_name }}")
    await page.fill("[data-testid=subject-0-0]", "{{ first_name }}, your cart is saved")
    await page.fill("[data-testid=body-0-0]", "Your {{ first_item }} is waiting.")
    await page.wait_for_function(
        "document.querySelector('[data-testid=email-subject]').textContent === 'Jane, your cart is saved'"
        " && !document.getElementById('preview-sms').hidden"
        " && document.querySelector('[data-testid=sms-preview]').textContent.includes(\"it's Velvet Fern\")"
    )
    await page.click("#save")
    await page.wait_for_function(
        "document.getElementById('status').textContent.startsWith('Saved')"
    )
    step = await FlowStep.get(flow__store_id=seeded.store.id, position=0)
    assert step.channel == "auto"
    assert step.variants[0]["subject"] == "{{ first_name }}, your cart is saved"
    assert step.variants[0]["body"] == "Your {{ first_item }} is waiting."
    assert step.variants[0]["sms_body"] == text
    await page.screenshot(path=str(ARTIFACTS / "flows-auto-step.png"), full_page=True)
    assert errors == []
    await context.close()


async def _no_horizontal_scroll(page: Page) -> None:
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], width


async def test_template_failures_are_shown_and_a_bad_template_is_refused(
    server: str, browser: Any
) -> None:
    from app.messaging.models import Author, Channel, DeliveryStatus, Direction, Message

    seeded, context, page = await _owner_page(server, browser)
    reason = (
        "Variant 'b': the body could not be rendered: it reaches for program internals "
        "(names starting with _), which templates may not access"
    )
    for n in range(3):
        await Message.create(
            store=seeded.store,
            channel=Channel.EMAIL,
            direction=Direction.OUTBOUND,
            author=Author.AUTOMATION,
            to_address=f"s{n}@example.com",
            body="",
            variant="b",
            step_index=1,
            enrollment_id=1000 + n,
            status=DeliveryStatus.FAILED,
            error_code="template",
            error_message=reason,
        )
    for path in ("/flows", "/dashboard"):
        await page.set_viewport_size(LAPTOP)
        await page.goto(f"{server}{path}")
        notice = await page.inner_text("[data-testid=send-failures]")
        assert "Step 2, variant “b”: not sent to 3 shoppers" in notice, notice
        assert "which templates may not access" in notice
        name = path.strip("/")
        await page.screenshot(path=str(ARTIFACTS / f"{name}-failures-laptop.png"), full_page=True)
        await page.set_viewport_size(PHONE)
        await _no_horizontal_scroll(page)
        await page.screenshot(path=str(ARTIFACTS / f"{name}-failures-phone.png"), full_page=True)
    await page.set_viewport_size(LAPTOP)
    await page.goto(f"{server}/flows")
    await page.locator("[data-testid=email-frame]").wait_for(state="attached")
    await page.fill("[data-testid=body-1-0]", "{{ 'a' * 20000000 }}")
    await page.locator("#preview-error").wait_for(state="visible")
    assert "20,000,000 characters" in await page.inner_text("#preview-error")
    await page.click("#save")
    await page.locator("#problem").wait_for(state="visible")
    problem = await page.inner_text("#problem")
    assert problem.startswith("Step 2, variant A, message body cannot be sent"), problem
    await page.screenshot(path=str(ARTIFACTS / "flows-refused-laptop.png"), full_page=True)
    await context.close()


async def test_flow_editor_offers_free_shipping(server: str, browser: Any) -> None:
    seeded, context, page = await _owner_page(server, browser)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    await page.goto(f"{server}/flows")
    await page.locator("[data-testid=sms-preview]").wait_for()
    await page.select_option("[data-testid=incentive-kind-2]", "free_shipping")
    assert await page.locator("[data-testid=incentive-value-2]").count() == 0
    await page.click("[data-testid=subject-2-0]")
    await page.wait_for_function(
        "document.querySelector('[data-testid=email-subject]').textContent"
        " === 'Free shipping with code SAMPLE-SHIP, just for you'"
    )
    await page.click("#save")
    await page.wait_for_function(
        "document.getElementById('status').textContent.startsWith('Saved')"
    )
    step = await FlowStep.get(flow__store_id=seeded.store.id, position=2)
    assert step.incentive == {
        "kind": "free_shipping",
        "source": "auto",
        "min_total": "50",
        "expires_hours": 48,
    }
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        await page.locator("[data-testid=incentive-kind-2]").scroll_into_view_if_needed()
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name}: page scrolls sideways by {overflow}px"
        await page.screenshot(path=str(ARTIFACTS / f"flows-free-shipping-{name}.png"))
    await page.set_viewport_size(LAPTOP)
    await page.select_option("[data-testid=incentive-kind-4]", "percentage")
    await page.fill("[data-testid=incentive-value-4]", "0")
    await page.click("#save")
    await page.locator("#problem").wait_for(state="visible")
    assert "Step 5, discount amount: must be a positive amount" in await page.inner_text("#problem")
    assert errors == []
    await context.close()


async def test_a_custom_store_is_warned_then_uploads_a_code_pool(
    server: str, browser: Any, tmp_path: Any
) -> None:
    """No pool: /dashboard and /flows say the discount step will carry no code; a CSV fixes it."""
    seeded = await make_store("custom", name="Velvet Fern")
    await create_agent(seeded.store, "owner@velvet.example", Role.OWNER, password=PASSWORD)
    exported = tmp_path / "codes.csv"
    exported.write_text("Code,Value\n" + "".join(f"FERN-{n:04d},10%\n" for n in range(30)))
    ARTIFACTS.mkdir(exist_ok=True)
    context = await browser.new_context(viewport=LAPTOP)
    page = await context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # /favicon.ico is issue 11's point 9, proven by the newcomer story test; every other request counts.
    page.on(
        "response",
        lambda r: (
            errors.append(f"{r.status} {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico")
            else None
        ),
    )
    await _login(page, server, "owner@velvet.example")
    warning = page.get_by_test_id("pool-warning")
    assert "will go out without a code" in await warning.inner_text()
    await _both_widths(page, "pool-warning-dashboard")
    await page.click("[data-testid=pool-warning] a")
    await page.wait_for_url(f"{server}/flows#codes")
    assert "will go out without a code" in await warning.inner_text()
    await page.set_input_files("#pool-file", str(exported))
    await page.fill("#pool-value", "10")
    await page.click("#codes button[type=submit]")
    await page.wait_for_url(f"{server}/flows?uploaded=30#codes")
    assert await page.inner_text("[data-testid=pool-left]") == "30 codes left"
    assert await page.inner_text("[data-testid=pool-worth]") == "10% off"
    assert await warning.count() == 0
    await _both_widths(page, "pool-uploaded-flows", "#codes")
    await page.goto(f"{server}/dashboard")
    assert await warning.count() == 0
    assert not errors, errors
    await context.close()


async def _both_widths(page: Page, name: str, part: str | None = None) -> None:
    for label, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        await page.set_viewport_size(viewport)
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name} at {label}: page scrolls sideways by {overflow}px"
        await page.screenshot(path=str(ARTIFACTS / f"{name}-{label}.png"), full_page=True)
        if part:
            shot = str(ARTIFACTS / f"{name}-{label}-part.png")
            await page.locator(part).screenshot(path=shot)
    await page.set_viewport_size(LAPTOP)


async def test_the_flow_picker_shows_one_flow_and_its_recipients(server: str, browser: Any) -> None:
    seeded = await seed_two_flows()
    await create_agent(seeded.store, "owner@two.example", Role.OWNER, password=PASSWORD)
    async with httpx.AsyncClient() as http:
        api = (
            await http.get(
                f"{server}/api/v1/flows/{seeded.carts.id}/results",
                headers={"Authorization": f"Bearer {seeded.token}"},
            )
        ).json()
    ARTIFACTS.mkdir(exist_ok=True)
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = await browser.new_context(viewport=viewport)
        page = await context.new_page()
        await _login(page, server, "owner@two.example")
        assert await page.locator("[data-testid=flow-row]").count() == 3
        await page.select_option("[data-testid=flow-picker]", label="Carts")
        await page.click(".filters button[type=submit]")
        await page.wait_for_url(f"**/dashboard?*flow={seeded.carts.id}*")
        assert await page.inner_text("[data-testid=picked-flow]") == "Carts"
        assert await page.locator("[data-testid=flow-steps] tbody tr").count() == len(api["steps"])
        assert await page.locator("[data-testid=recipients] tbody tr").count() == 2
        ordered = await page.inner_text("[data-testid=flow-ordered]")
        assert ordered == f"{api['ordered']} · ${Decimal(api['revenue']):,.2f}"
        overflow = await page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{name}: page scrolls sideways by {overflow}px"
        await page.screenshot(path=str(ARTIFACTS / f"dashboard-flow-{name}.png"), full_page=True)
        await context.close()

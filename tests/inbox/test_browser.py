"""End to end in headless Chromium: a shopper's text appears live, the agent's reply reaches Twilio."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Error as PlaywrightError
from playwright.async_api import async_playwright, expect

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.config import use_settings
from tests.factories import CHROMIUM_ARGS, free_port
from tests.inbox.conftest import (
    PASSWORD,
    SHOPPER,
    STORE_NUMBER,
    LiveServer,
    signed_headers,
    sms_form,
    store_with_number,
)

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


PORTS = (free_port(), free_port())  # chosen per run: nothing else may hold them
PUBLIC = f"http://127.0.0.1:{PORTS[0]}"


@pytest.fixture
async def two_instances(inbox_settings):
    """Two app instances on the same PostgreSQL and Redis, one public URL as behind a balancer."""
    settings = dataclasses.replace(
        inbox_settings, server=dataclasses.replace(inbox_settings.server, public_url=PUBLIC)
    )
    use_settings(settings)
    servers = [await LiveServer(settings, port).start() for port in PORTS]
    yield servers
    for server in servers:
        await server.stop()
    use_settings(inbox_settings)


@pytest.mark.parametrize("webhook_on", ["same", "other"])
async def test_agent_sees_the_text_live_and_replies_through_twilio(
    two_instances, fake_twilio, webhook_on
):
    agent_app, other_app = two_instances
    store = await store_with_number(name="Velvet Fern Goods")
    await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 800})
        await page.goto(agent_app.url + "/login?next=/inbox")
        await page.fill("input[name=email]", "nia@shop.example")
        await page.fill("input[name=password]", PASSWORD)
        await page.click("button[type=submit]")
        await page.wait_for_url("**/inbox")
        await expect(page.locator("#live-state")).to_have_text("Live")

        target = agent_app if webhook_on == "same" else other_app
        form = sms_form("Is the <b>sage</b> pillow still in stock?")
        async with httpx.AsyncClient() as http:
            response = await http.post(
                target.url + "/webhooks/twilio/sms", data=form, headers=signed_headers(form, PUBLIC)
            )
        assert response.status_code == 200
        item = page.locator(".conv", has_text="Is the <b>sage</b> pillow")
        await expect(item).to_be_visible()  # no reload: it arrived over the websocket
        await expect(item.locator(".unread-count")).to_have_text("1")
        await item.click()
        bubble = page.locator(".msg.in").first
        await expect(bubble).to_contain_text("Is the <b>sage</b> pillow still in stock?")
        assert await page.locator(".msg.in b").count() == 0  # shown as text, never as markup
        await page.fill("#body", "Yes, 3 left in sage! Want me to hold one?")
        await expect(page.locator("#segments")).to_contain_text("1 segment")
        await page.press("#body", "Control+Enter")
        await expect(page.locator(".msg.out").last).to_contain_text("Want me to hold one?")
        for _ in range(50):
            if fake_twilio.sent:
                break
            await asyncio.sleep(0.1)
        [sent] = fake_twilio.sent
        assert (sent["to"], sent["from"], sent["body"]) == (
            SHOPPER,
            STORE_NUMBER,
            "Yes, 3 left in sage! Want me to hold one?",
        )
        await expect(page.locator(".msg.out .state-queued").last).to_be_visible()
        await page.screenshot(
            path=str(ARTIFACTS / f"inbox-{webhook_on}-instance.png"), full_page=True
        )
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.screenshot(path=str(ARTIFACTS / f"inbox-{webhook_on}-instance-phone.png"))
        await browser.close()


async def _login_inbox(page, app) -> None:
    await page.goto(app.url + "/login?next=/inbox")
    await page.fill("input[name=email]", "nia@shop.example")
    await page.fill("input[name=password]", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url("**/inbox")


async def _text(app, body: str) -> None:
    form = sms_form(body)
    async with httpx.AsyncClient() as http:
        response = await http.post(
            app.url + "/webhooks/twilio/sms", data=form, headers=signed_headers(form, PUBLIC)
        )
    assert response.status_code == 200


async def test_blocked_websockets_fall_back_to_polling_and_say_so(two_instances, inbox_settings):
    fast = dataclasses.replace(
        inbox_settings,
        inbox=dataclasses.replace(inbox_settings.inbox, poll_seconds=1),
        server=dataclasses.replace(inbox_settings.server, public_url=PUBLIC),
    )
    use_settings(fast)
    app = two_instances[0]
    store = await store_with_number(name="Velvet Fern Goods")
    await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.add_init_script(
            "delete window.WebSocket"
        )  # as behind a proxy that drops upgrades
        await _login_inbox(page, app)
        await expect(page.locator("#live-state")).to_contain_text("Live updates blocked")
        await _text(app, "Do you ship to Canada?")
        await expect(page.locator(".conv", has_text="Do you ship to Canada?")).to_be_visible(
            timeout=5000
        )
        await browser.close()


async def test_dropped_connection_reconnects_and_catches_up_once(two_instances):
    app = two_instances[0]
    store = await store_with_number(name="Velvet Fern Goods")
    await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
    sockets: list = []

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page()

        def proxy(ws) -> None:  # every page socket goes through here to the real server
            ws.connect_to_server()
            sockets.append(ws)

        await page.route_web_socket("**/inbox/ws", proxy)
        await _login_inbox(page, app)
        await expect(page.locator("#live-state")).to_have_text("Live")
        await _text(app, "First question")
        item = page.locator(".conv", has_text="First question")
        await expect(item).to_be_visible()
        await item.click()

        await sockets[-1].close(code=1006, reason="network dropped")
        await _text(app, "Second question, sent while you were offline")
        await expect(page.locator("#live-state")).to_have_text("Live", timeout=10000)
        await expect(page.locator(".msg.in", has_text="Second question")).to_have_count(
            1, timeout=5000
        )
        await asyncio.sleep(1.0)  # a replayed frame would show up as a second bubble by now
        assert await page.locator(".msg.in", has_text="Second question").count() == 1
        assert await page.locator(".msg.in", has_text="First question").count() == 1
        assert len(sockets) >= 2
        await browser.close()


async def test_an_agent_decides_on_a_possible_opt_out_in_one_click(two_instances):
    """The banner arrives live with the text; "No, keep texting" lifts the hold for every agent."""
    from app.checkouts.models import ConsentEvent, Contact

    app = two_instances[0]
    store = await store_with_number(name="Velvet Fern Goods")
    await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 800})
        errors: list[str] = []
        page.on(
            "response",  # favicon.ico is another change's (issue 11, point 9)
            lambda r: (
                errors.append(f"{r.status} {r.url}")
                if r.status >= 400 and not r.url.endswith("/favicon.ico")
                else None
            ),
        )
        page.on("pageerror", lambda e: errors.append(str(e)))
        await _login_inbox(page, app)
        await expect(page.locator("#live-state")).to_have_text("Live")
        await _text(app, "can you stop texting me about the mug")
        item = page.locator(".conv", has_text="stop texting me")
        await expect(item.locator(".badge.danger")).to_have_text("May be opt-out")
        await item.click()
        banner = page.locator("#maybe-optout")
        await expect(banner).to_be_visible()
        await expect(banner).to_contain_text("This may be an opt-out")
        await page.screenshot(path=str(ARTIFACTS / "inbox-maybe-opt-out.png"))
        await page.set_viewport_size({"width": 390, "height": 844})
        await expect(banner).to_be_visible()
        await page.screenshot(path=str(ARTIFACTS / "inbox-maybe-opt-out-phone.png"))
        wide = await page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not wide, "horizontal scroll at 390 px"
        await page.get_by_role("button", name="No, keep texting").click()
        await expect(banner).to_be_hidden()
        contact = await Contact.get(phone=SHOPPER)
        assert contact.sms_held_at is None and contact.sms_opted_out_at is None
        assert await ConsentEvent.filter(action="not_opt_out", contact_id=contact.id).exists()
        await _text(app, "stop, please, I mean it")
        await expect(banner).to_be_visible()
        await page.get_by_role("button", name="Yes, opt them out").click()
        await expect(page.locator("#optout")).to_be_visible()
        await expect(banner).to_be_hidden()
        assert (await Contact.get(phone=SHOPPER)).sms_opted_out_at is not None
        assert errors == []
        await browser.close()


async def test_a_thread_left_at_once_on_a_slow_connection_is_still_marked_read(two_instances):
    """An agent on a slow connection opens a thread and leaves the inbox straight away: the
    request that marks it read is still on its way and must outlive the page."""
    from inbox.models import ReadMarker

    app = two_instances[0]
    store = await store_with_number(name="Velvet Fern Goods")
    agent = (
        await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
    ).agent
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await _login_inbox(page, app)
        await expect(page.locator("#live-state")).to_have_text("Live")
        await _text(app, "Do you have the linen throw in oat?")
        item = page.locator(".conv", has_text="linen throw in oat")
        await expect(item.locator(".unread-count")).to_have_text("1")

        held = asyncio.get_running_loop().create_future()
        await page.route(  # the read request is still on its way (a slow network) ...
            "**/read", lambda route: held.done() or held.set_result(route)
        )
        await item.click()
        route = await asyncio.wait_for(held, 10)
        await page.goto("about:blank")  # ... when the agent leaves the inbox
        with contextlib.suppress(PlaywrightError):  # a request dropped with its page is gone
            await route.continue_()

        seen = None
        for _ in range(60):
            marker = await ReadMarker.get_or_none(agent_id=agent.id)
            seen = marker.seen_inbound if marker else None
            if seen == 1:
                break
            await asyncio.sleep(0.1)
        assert seen == 1, "the read mark was lost with the page"
        await browser.close()

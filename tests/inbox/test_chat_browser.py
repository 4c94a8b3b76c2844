"""Two browsers, live chat both ways: a shopper on the store's own origin (the demo checkout with
the snippet, which lazy-loads the chat) and an agent in the inbox on another app instance."""

from __future__ import annotations

import asyncio
import dataclasses
from pathlib import Path
from urllib.parse import urlencode

import pytest
from litestar import Litestar
from litestar.static_files import create_static_files_router
from playwright.async_api import async_playwright, expect

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.config import use_settings
from app.core.timeutil import utcnow
from app.messaging.models import Channel, DeliveryStatus, Message
from app.web.assets import STATIC_DIR
from tests.factories import CHROMIUM_ARGS, free_port, make_store
from tests.inbox.conftest import PASSWORD, LiveServer

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PORTS = (free_port(), free_port())
PUBLIC = f"http://127.0.0.1:{PORTS[0]}"
WAIT_MS = 20_000  # a busy machine must not fail a live test; speed is measured in bench/


class ShopServer(LiveServer):
    """The demo shop on its own origin, as a merchant's site would be."""

    def __init__(self) -> None:
        import uvicorn

        shop = Litestar(
            route_handlers=[create_static_files_router(path="/", directories=[STATIC_DIR / "demo"])]
        )
        self.server = uvicorn.Server(
            uvicorn.Config(shop, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
        )
        self.task = None


@pytest.fixture
async def servers(inbox_settings):
    settings = dataclasses.replace(
        inbox_settings, server=dataclasses.replace(inbox_settings.server, public_url=PUBLIC)
    )
    use_settings(settings)
    apps = [await LiveServer(settings, port).start() for port in PORTS]
    shop = await ShopServer().start()
    yield apps, shop
    for server in (*apps, shop):
        await server.stop()
    use_settings(inbox_settings)


async def test_shopper_and_agent_chat_live_both_ways(servers):
    (shopper_app, agent_app), shop = servers
    issued = await make_store("custom", domain=f"127.0.0.1:{shop.port}", name="Velvet Fern Goods")
    store = issued.store
    store.settings = {
        **(store.settings or {}),
        "chat": {"enabled": True, "start": "00:00", "end": "23:59", "weekends": True},
    }
    await store.save(update_fields=["settings"])
    await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        agent = await (
            await browser.new_context(viewport={"width": 1366, "height": 800})
        ).new_page()
        await agent.goto(agent_app.url + "/login?next=/inbox")
        await agent.fill("input[name=email]", "nia@shop.example")
        await agent.fill("input[name=password]", PASSWORD)
        await agent.click("button[type=submit]")
        await agent.wait_for_url("**/inbox")
        await expect(agent.locator("#live-state")).to_have_text("Live", timeout=WAIT_MS)

        shopper_ctx = await browser.new_context(viewport={"width": 390, "height": 844})
        shopper = await shopper_ctx.new_page()
        errors: list[str] = []
        shopper.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        query = urlencode({"key": store.publishable_key, "endpoint": shopper_app.url})
        await shopper.goto(f"{shop.url}/checkout.html?{query}")
        launcher = shopper.locator("#followup-chat .launcher")
        await expect(launcher).to_be_visible(timeout=WAIT_MS)  # chat.js was loaded lazily
        await launcher.click()
        box = shopper.locator("#followup-chat textarea")
        await box.fill("Is the <b>sage</b> pillow washable?")
        await box.press("Enter")
        await expect(shopper.locator("#followup-chat li.you")).to_have_text(
            "Is the <b>sage</b> pillow washable?", timeout=WAIT_MS
        )

        item = agent.locator(".conv", has_text="Is the <b>sage</b> pillow")
        await expect(item).to_be_visible(timeout=WAIT_MS)  # live, no reload
        await item.click()
        bubble = agent.locator(".msg.in").last
        await expect(bubble).to_contain_text("Is the <b>sage</b> pillow washable?")
        await expect(bubble.locator(".channel")).to_have_text("Chat")
        assert await agent.locator(".msg.in b").count() == 0
        await expect(agent.locator("#channel")).to_have_value("chat")
        await agent.fill("#body", "Yes: 30 °C, <i>gentle</i> cycle.")
        await expect(agent.locator("#send")).to_have_text("Send chat")
        await agent.click("#send")

        reply = shopper.locator("#followup-chat li.agent", has_text="gentle")
        await expect(reply).to_have_text("Yes: 30 °C, <i>gentle</i> cycle.", timeout=WAIT_MS)
        assert await shopper.locator("#followup-chat li i").count() == 0
        await expect(agent.locator(".msg.out .state-delivered").last).to_be_visible(timeout=WAIT_MS)
        await shopper.screenshot(path=str(ARTIFACTS / "chat-shopper-phone.png"))
        await agent.screenshot(path=str(ARTIFACTS / "chat-agent-inbox.png"))
        assert not errors, errors
        await browser.close()
    sent = await Message.get(channel=Channel.CHAT, author="agent")
    assert sent.status == DeliveryStatus.DELIVERED


async def _invite_store(shop) -> object:
    issued = await make_store("custom", domain=f"127.0.0.1:{shop.port}", name="Velvet Fern Goods")
    store = issued.store
    store.settings = {
        **(store.settings or {}),
        "chat": {
            "enabled": True,
            "start": "00:00",
            "end": "23:59",
            "weekends": True,
            "invite": True,
            "invite_text": "Wait! Questions about <your> order?",
        },
    }
    await store.save(update_fields=["settings"])
    return store


async def test_exit_intent_invites_once_and_an_accept_opens_the_chat(servers):
    (shopper_app, _), shop = servers
    store = await _invite_store(shop)
    query = urlencode({"key": store.publishable_key, "endpoint": shopper_app.url})
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        # Desktop: the pointer leaves through the top of the window.
        page = await (await browser.new_context(viewport={"width": 1366, "height": 800})).new_page()
        await page.goto(f"{shop.url}/checkout.html?{query}")
        await expect(page.locator("#followup-chat .launcher")).to_be_visible(timeout=WAIT_MS)
        leave = "document.dispatchEvent(new MouseEvent('mouseout', {clientY: -2, bubbles: true}))"
        await page.evaluate(leave)
        invitation = page.locator("#followup-chat .invite")
        await expect(invitation).to_be_visible(timeout=WAIT_MS)
        await expect(invitation.locator("p")).to_have_text("Wait! Questions about <your> order?")
        await invitation.get_by_text("No thanks").click()
        await page.evaluate(leave)
        await page.wait_for_timeout(500)
        await expect(invitation).to_be_hidden()  # once per session, even after a "no"
        await page.screenshot(path=str(ARTIFACTS / "chat-invite-desktop.png"))

        # Phone: pressing back once shows the invitation instead of leaving; "Chat now" opens it.
        phone = await browser.new_context(
            viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True
        )
        page = await phone.new_page()
        await page.goto(f"{shop.url}/checkout.html?{query}")
        await expect(page.locator("#followup-chat .launcher")).to_be_visible(timeout=WAIT_MS)
        await page.go_back()
        invitation = page.locator("#followup-chat .invite")
        await expect(invitation).to_be_visible(timeout=WAIT_MS)
        await page.screenshot(path=str(ARTIFACTS / "chat-invite-phone.png"))
        await invitation.get_by_text("Chat now").click()
        await expect(page.locator("#followup-chat .panel")).to_be_visible()
        await browser.close()
    from app.analytics.site_saves import between
    from inbox.models import ChatInvitation

    rows = await ChatInvitation.filter(store_id=store.id).order_by("id")
    for _ in range(200):  # the accept is a keepalive post: wait on the clock
        if len(rows) == 2 and rows[1].accepted_at is not None:
            break
        await asyncio.sleep(0.1)
        rows = await ChatInvitation.filter(store_id=store.id).order_by("id")
    assert [r.trigger for r in rows] == ["pointer_left", "back"]
    assert rows[0].accepted_at is None and rows[1].accepted_at is not None
    assert all(r.checkout_token for r in rows)  # the demo checkout reported its id
    found = await between(store.id, store.currency, rows[0].shown_at, utcnow())
    assert (found.shown, found.accepted, found.orders) == (2, 1, 0)


async def test_an_idle_shopper_who_typed_an_email_is_invited_once(servers):
    """The store's idle rule: nothing while the shopper is unknown; once an email is typed and
    nothing happens for the idle time, the invitation shows, counted with trigger "idle"."""
    from inbox.models import ChatInvitation

    (shopper_app, _), shop = servers
    store = await _invite_store(shop)
    store.settings["chat"]["invite_idle_seconds"] = 2
    await store.save(update_fields=["settings"])
    query = urlencode({"key": store.publishable_key, "endpoint": shopper_app.url})
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await (await browser.new_context(viewport={"width": 1366, "height": 800})).new_page()
        await page.goto(f"{shop.url}/checkout.html?{query}")
        await expect(page.locator("#followup-chat .launcher")).to_be_visible(timeout=WAIT_MS)
        invitation = page.locator("#followup-chat .invite")
        await page.wait_for_timeout(4000)  # two idle periods with nobody known: no invitation
        await expect(invitation).to_be_hidden()
        await page.fill("#email", "maya@example.com")
        await expect(invitation).to_be_visible(timeout=WAIT_MS)
        await expect(invitation.locator("p")).to_have_text("Wait! Questions about <your> order?")
        await invitation.get_by_text("No thanks").click()
        await page.fill("#email", "maya.r@example.com")
        await page.wait_for_timeout(4000)
        await expect(invitation).to_be_hidden()  # once per session
        await browser.close()
    for _ in range(200):  # the count is a keepalive post: wait on the clock
        rows = await ChatInvitation.filter(store_id=store.id)
        if rows:
            break
        await asyncio.sleep(0.1)
    assert [r.trigger for r in rows] == ["idle"] and rows[0].checkout_token

"""In headless Chromium: a waiting thread turns overdue on its own once the store's target
passes (no reload, no new frame), and an agent's reply replaces the marker with the figure."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.checkouts.models import Contact
from app.stores.models import Store
from inbox.models import Conversation
from tests.factories import CHROMIUM_ARGS
from tests.inbox.conftest import PASSWORD, store_with_number
from tests.inbox.test_browser import PUBLIC, _login_inbox, _text, two_instances  # noqa: F401

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


async def test_overdue_marker_appears_live_and_the_reply_clears_it(
    two_instances,  # noqa: F811
    fake_twilio,
):
    agent_app, other_app = two_instances
    store = await store_with_number(name="Velvet Fern Goods")
    await Store.filter(id=store.id).update(
        settings={"response_targets": {"chat": 10, "sms": 3, "email": 300}}
    )
    await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 800})
        await _login_inbox(page, agent_app)
        await expect(page.locator("#live-state")).to_have_text("Live")
        await _text(other_app, "Hello, does the sage pillow come in blue?")
        item = page.locator(".conv", has_text="sage pillow")
        await expect(item).to_be_visible()
        marker = item.locator(".frt")
        await expect(marker).to_contain_text("Waiting since")
        # Three seconds later, with nothing sent to the page, the marker turns overdue.
        await expect(marker).to_contain_text("Overdue", timeout=30_000)
        await expect(marker).to_have_class(re.compile(r"\boverdue\b"))
        await item.click()
        await expect(page.locator("#first-response .frt")).to_contain_text("Overdue")
        ARTIFACTS.mkdir(exist_ok=True)
        await page.screenshot(path=str(ARTIFACTS / "inbox-overdue.png"), full_page=True)
        await page.fill("#body", "Yes, in navy blue!")
        await page.press("#body", "Control+Enter")
        await expect(page.locator(".msg.out").last).to_contain_text("navy blue")
        await expect(item.locator(".frt")).to_have_count(0, timeout=30_000)
        await expect(page.locator("#first-response .frt")).to_contain_text("First reply in")
        conv = await Conversation.get(store_id=store.id)
        assert conv.responded_at is not None
        await page.set_viewport_size({"width": 390, "height": 844})
        await page.screenshot(path=str(ARTIFACTS / "inbox-overdue-phone.png"))
        await browser.close()


async def test_an_email_only_shopper_is_named_by_email_in_the_thread_head(
    two_instances,  # noqa: F811
):
    agent_app, _ = two_instances
    store = await store_with_number(name="Tidewater Teas")
    await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
    jane = await Contact.create(store_id=store.id, email="jane@example.com")
    from app.core.timeutil import utcnow

    await Conversation.create(
        store_id=store.id,
        contact_id=jane.id,
        opened_at=utcnow(),
        last_message_at=utcnow(),
        last_message_preview="Do you ship to Canada?",
    )
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = await browser.new_page(viewport={"width": 1366, "height": 800})
        await _login_inbox(page, agent_app)
        item = page.locator(".conv", has_text="Canada")
        await expect(item.locator(".name")).to_have_text("jane@example.com")
        await item.click()
        # The list named her by email; the thread head said "Shopper" (email-only contacts).
        await expect(page.locator("#contact-name")).to_have_text("jane@example.com")
        await browser.close()

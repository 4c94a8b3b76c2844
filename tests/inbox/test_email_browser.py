"""In headless Chromium at 1366 and 390 px: a shopper's email (over a real SMTP session into the
receiver) appears live with its channel badge; the agent answers by email, threaded."""

from __future__ import annotations

import asyncio
import dataclasses
import smtplib
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from playwright.async_api import async_playwright, expect

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.checkouts.models import Contact
from app.config import use_settings
from app.integrations.smtp import receiver
from app.messaging import addresses
from tests.factories import CHROMIUM_ARGS, free_port
from tests.inbox.conftest import PASSWORD, LiveServer, store_with_number
from tests.recovery.conftest import Inbox

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
DOMAIN = "in.followup.test"


async def test_email_thread_in_the_inbox_at_desktop_and_phone_widths(settings, redis, queue):
    outgoing = Inbox(port=free_port())
    smtp_out = Controller(outgoing, hostname="127.0.0.1", port=outgoing.port)
    smtp_out.start()
    patched = dataclasses.replace(
        settings,
        email=dataclasses.replace(settings.email, smtp_url=f"smtp://127.0.0.1:{outgoing.port}"),
        inbound_mail=dataclasses.replace(settings.inbound_mail, domain=DOMAIN),
    )
    use_settings(patched)
    app = await LiveServer(patched).start()
    mx_port = free_port()
    mx = await receiver.start(patched, "127.0.0.1", mx_port, redis, queue)
    try:
        store = await store_with_number(name="Tidewater Teas")
        await create_agent(store, "nia@shop.example", Role.AGENT, name="Nia", password=PASSWORD)
        jane = await Contact.create(store_id=store.id, email="jane@example.com", first_name="Jane")
        ARTIFACTS.mkdir(exist_ok=True)
        async with async_playwright() as pw:
            browser = await pw.chromium.launch(
                executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS
            )
            page = await browser.new_page(viewport={"width": 1366, "height": 800})
            await page.goto(app.url + "/login?next=/inbox")
            await page.fill("input[name=email]", "nia@shop.example")
            await page.fill("input[name=password]", PASSWORD)
            await page.click("button[type=submit]")
            await page.wait_for_url("**/inbox")
            await expect(page.locator("#live-state")).to_have_text("Live")

            mime = EmailMessage()
            mime["From"] = "Jane <jane@example.com>"
            mime["To"] = addresses.reply_address(patched, store.id, jane.id)
            mime["Subject"] = "Re: Your cart at Tidewater Teas"
            mime["Message-ID"] = "<jane-browser@mail.example.com>"
            mime.set_content(
                "Is the <b>oolong</b> tin airtight?\n\nOn Mon, Jan 12, 2026 at 9:00 AM "
                "Tidewater Teas <shop@tidewater.example> wrote:\n> Your cart is waiting\n"
            )
            mime.add_attachment(b"0" * 3000, maintype="image", subtype="png", filename="tin.png")

            def talk() -> None:
                with smtplib.SMTP("127.0.0.1", mx_port, timeout=10) as client:
                    client.send_message(mime)

            await asyncio.to_thread(talk)
            item = page.locator(".conv", has_text="airtight")
            await expect(item).to_be_visible()  # live, no reload
            await item.click()
            bubble = page.locator(".msg.in").first
            await expect(bubble.locator(".channel")).to_have_text("Email")
            await expect(bubble.locator(".subject")).to_have_text("Re: Your cart at Tidewater Teas")
            await expect(bubble).to_contain_text("Is the <b>oolong</b> tin airtight?")
            await expect(bubble).not_to_contain_text("Your cart is waiting")  # quote cut
            await expect(bubble.locator(".files")).to_have_text("Attached: tin.png (3 KB)")
            await expect(page.locator("#quiet")).to_be_hidden()  # quiet hours are for texts
            assert await page.locator(".msg.in b").count() == 0
            await expect(page.locator("#channel")).to_have_value("email")
            await expect(page.locator("#send")).to_have_text("Send email")
            await page.fill("#body", "Yes, it is airtight. Want me to hold one?")
            await page.press("#body", "Control+Enter")
            out = page.locator(".msg.out").last
            await expect(out).to_contain_text("Want me to hold one?")
            await expect(out.locator(".channel")).to_have_text("Email")
            for _ in range(50):
                if outgoing.messages:
                    break
                await asyncio.sleep(0.1)
            [sent] = outgoing.messages
            assert sent["In-Reply-To"] == "<jane-browser@mail.example.com>"
            assert sent["Subject"] == "Re: Your cart at Tidewater Teas"
            await page.screenshot(path=str(ARTIFACTS / "inbox-email-thread.png"), full_page=True)

            await page.set_viewport_size({"width": 390, "height": 844})
            await expect(page.locator(".msg.in").first).to_be_visible()
            await expect(page.locator("#channel")).to_be_visible()
            overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
            assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 390 px"
            await page.screenshot(path=str(ARTIFACTS / "inbox-email-thread-phone.png"))
            await browser.close()
    finally:
        mx.close()
        await app.stop()
        smtp_out.stop()
        use_settings(settings)

"""The newcomer's whole story, in Chromium, against the real `followup dev` as the README starts it.

A scratch directory (its own FOLLOWUP_DATA_DIR, embedded SQLite and Redis) and a free port; then:
the demo checkout with the SMS box ticked → the first text on /dev/phone → the shopper replies →
the agent sees it live in /inbox, answers and issues a code from the cart panel → the magic link
restores the cart with the code applied → the order → the dashboard shows the recovered revenue.
Every page visited is photographed at 1366 and 390 px; any horizontal scroll at 390 px fails.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Page, async_playwright, expect

from tests.factories import CHROMIUM, CHROMIUM_ARGS, free_port

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "newcomer"
FOLLOWUP = Path(sys.executable).with_name("followup")  # the venv's, as the README installs it
if not FOLLOWUP.exists():
    FOLLOWUP = Path(shutil.which("followup") or FOLLOWUP)
LAPTOP, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}
# Shoppers' numbers whose area code fixes their time zone; the test texts the one whose local
# time is mid-day now, as any store's shoppers are (quiet hours follow the shopper's clock).
SHOPPER_PHONES = {
    "+14155550142": "America/Los_Angeles",
    "+12125550142": "America/New_York",
    "+5511987650142": "America/Sao_Paulo",
    "+919876500142": "Asia/Kolkata",
    "+819012340142": "Asia/Tokyo",
}


@dataclass(frozen=True)
class Dev:
    base: str
    api_token: str
    login: str
    password: str
    shop: str


def _daytime_phone(now: datetime) -> str:
    for phone, zone in SHOPPER_PHONES.items():
        local = now.astimezone(ZoneInfo(zone))
        if 9 <= local.hour < 19 and not (local.weekday() == 6 and local.hour < 12):
            return phone
    raise AssertionError(f"no shopper zone is in daytime at {now}")


def _read_banner(process: subprocess.Popen[bytes], log: Path, deadline: float) -> str:
    """What `followup dev` printed up to its last banner line (the log file never fills a pipe)."""
    while time.monotonic() < deadline and process.poll() is None:
        text = log.read_text(errors="replace") if log.exists() else ""
        if "5. Dashboard" in text:
            return text
        time.sleep(0.2)
    raise AssertionError("followup dev printed no banner:\n" + log.read_text(errors="replace"))


def _field(banner: str, pattern: str) -> str:
    found = re.search(pattern, banner)
    assert found, f"{pattern!r} not in the banner:\n{banner}"
    return found.group(1)


@pytest.fixture
def dev(tmp_path: Path) -> Iterator[Dev]:
    """`followup dev` exactly as the README runs it, in a scratch directory on a free port."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FOLLOWUP_")}
    env["FOLLOWUP_DATA_DIR"] = str(tmp_path / ".data")
    log = tmp_path / "followup-dev.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(FOLLOWUP), "dev", "--port", str(port)],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        banner = _read_banner(process, log, time.monotonic() + 60)
        yield Dev(
            base=f"http://127.0.0.1:{port}",
            api_token=_field(banner, r"API token\s+(\S+)"),
            login=_field(banner, r"as (\S+@\S+) / "),
            password=_field(banner, r"as \S+@\S+ / (\S+)"),
            shop=_field(banner, r"1\. Shop\s+(\S+)"),
        )
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        (ARTIFACTS / "followup-dev.log").write_bytes(log.read_bytes())


@pytest.fixture
async def chromium() -> AsyncIterator[Any]:
    async with async_playwright() as pw:
        launched = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            await launched.close()


class Camera:
    """Photographs each page at laptop and phone width and fails on sideways scroll on the phone."""

    def __init__(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        self.count = 0
        self.scrolling: list[str] = []

    async def shoot(self, page: Page, name: str) -> None:
        self.count += 1
        stem = ARTIFACTS / f"{self.count:02d}-{name}"
        await page.set_viewport_size(LAPTOP)
        await page.screenshot(path=f"{stem}-1366.png", full_page=True)
        await page.set_viewport_size(PHONE)
        await page.wait_for_timeout(150)
        wide = await page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        if wide > 0:
            self.scrolling.append(f"{name} ({page.url}) scrolls {wide}px sideways at 390 px")
        await page.screenshot(path=f"{stem}-390.png", full_page=True)
        await page.set_viewport_size(LAPTOP)


async def _watch(page: Page, problems: list[str]) -> Page:
    page.on("pageerror", lambda e: problems.append(f"{page.url}: {e}"))
    page.on(
        "console",
        lambda m: problems.append(f"{page.url}: {m.text}") if m.type == "error" else None,
    )
    page.on(
        "response",
        lambda r: problems.append(f"{r.status} from {r.url}") if r.status >= 400 else None,
    )
    return page


async def _merchant_logs_in(page: Page, dev: Dev, camera: Camera) -> None:
    await page.goto(f"{dev.base}/login")
    await camera.shoot(page, "login")
    await page.fill("#email", dev.login)
    await page.fill("#password", dev.password)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{dev.base}/dashboard")
    await camera.shoot(page, "dashboard-before")


async def _merchant_checks_settings_and_flows(page: Page, dev: Dev, camera: Camera) -> None:
    """Texts by day in the shopper's time: the widest window the law allows, set on /settings."""
    await page.goto(f"{dev.base}/settings")
    assert await page.input_value("#abandon_after_minutes") == "1"  # the demo store's threshold
    await page.fill("#quiet_start", "08:00")
    await page.fill("#quiet_end", "21:00")
    await page.click("form[action='/settings'] button[type=submit]")
    await page.wait_for_url(f"{dev.base}/settings?saved=true")
    await camera.shoot(page, "settings")
    await page.goto(f"{dev.base}/flows")
    await expect(page.get_by_test_id("delay-0")).to_have_value("0")  # the first text at once
    await expect(page.get_by_test_id("pool-left")).to_have_text("25 codes left")
    await camera.shoot(page, "flows")


async def _shopper_checks_out(page: Page, dev: Dev, phone: str, camera: Camera) -> None:
    await page.goto(dev.shop)
    await page.wait_for_function("typeof window.followup === 'function' && !window.followup.q")
    await page.fill("#first_name", "Robin")
    await page.fill("#phone", phone)
    await page.locator("#sms").check()
    await page.locator("#email").press_sequentially("robin.newcomer@example.com", delay=10)
    await page.wait_for_timeout(1500)  # the snippet sends 0.5 s after the last keystroke
    await camera.shoot(page, "demo-checkout")


async def _phone_gets_the_text(page: Page, dev: Dev, phone: str, camera: Camera) -> None:
    await page.goto(f"{dev.base}/dev/phone")
    await page.fill("#from", phone)
    await page.dispatch_event("#from", "change")
    texts = page.locator("#phone-messages li")
    await expect(texts.first).to_contain_text("Velvet Fern Goods", timeout=150_000)
    await expect(texts.first).to_contain_text("/r/")
    await camera.shoot(page, "dev-phone-first-text")


async def _agent_answers(inbox: Page, phone_page: Page, camera: Camera) -> str:
    """The reply shows up live; the agent answers, issues a code, and reads the cart link."""
    await phone_page.fill("#phone-body", "Hi! Is there any discount on the mug?")
    await phone_page.click("#phone-form button[type=submit]")
    row = inbox.locator("#conversations li", has_text="Robin")
    await expect(row).to_be_visible(timeout=15_000)  # live: the page was not reloaded
    await row.click()
    await expect(inbox.locator("#messages")).to_contain_text("Is there any discount on the mug?")
    await inbox.click("#discount")
    panel = inbox.get_by_test_id("cart-discount")
    await expect(panel).to_be_visible()
    code = (await inbox.locator("#cart-discount-code").inner_text()).strip()
    assert re.fullmatch(r"FERN-[A-Z0-9]{6}", code), code
    await expect(panel).to_contain_text("10% off")
    await expect(inbox.locator("#body")).to_have_value(re.compile(re.escape(code)))
    await inbox.fill("#body", f"Yes! Use {code} for 10% off, it is already in your cart link.")
    await inbox.click("#send")
    await expect(inbox.locator("#messages")).to_contain_text(f"Use {code}")
    await camera.shoot(inbox, "inbox-thread-and-cart")
    await expect(phone_page.locator("#phone-messages")).to_contain_text(code, timeout=10_000)
    await camera.shoot(phone_page, "dev-phone-reply")
    link = await inbox.locator("#cart-link").get_attribute("href")
    assert link and "/r/" in link, link
    return link


async def _shopper_comes_back_and_buys(page: Page, link: str, camera: Camera) -> None:
    await page.goto(link)
    await expect(page.locator("#restored")).to_be_visible()
    await expect(page.locator("#applied")).to_be_visible()
    assert "discount=FERN-" in page.url
    await expect(page.locator("#total-before")).to_have_text("$62.50")
    await expect(page.locator("#total")).to_have_text("$56.25")
    await camera.shoot(page, "magic-link-restored-cart")
    await page.fill("#email", "robin.newcomer@example.com")  # the shop asks again, as shops do
    await page.click("#place-order")
    await expect(page.locator("#placed")).to_be_visible()
    await page.wait_for_timeout(1000)
    await camera.shoot(page, "order-placed")


async def _dashboard_shows_it(page: Page, dev: Dev, camera: Camera) -> None:
    tile = page.get_by_test_id("tile-revenue")
    for _ in range(40):
        await page.goto(f"{dev.base}/dashboard")
        if "56.25" in await tile.inner_text():
            break
        await page.wait_for_timeout(500)
    await expect(tile).to_contain_text("$56.25")
    await camera.shoot(page, "dashboard-recovered")


async def test_the_newcomer_walks_the_whole_story(dev: Dev, chromium: Any) -> None:
    camera, problems = Camera(), []
    phone = _daytime_phone(datetime.now(UTC))
    merchant = await chromium.new_context(viewport=LAPTOP)
    office = await _watch(await merchant.new_page(), problems)
    await _merchant_logs_in(office, dev, camera)
    await _merchant_checks_settings_and_flows(office, dev, camera)

    shopper = await chromium.new_context(viewport=LAPTOP)
    shop = await _watch(await shopper.new_page(), problems)
    await _shopper_checks_out(shop, dev, phone, camera)
    await shop.close()  # the shopper leaves; the demo store abandons after a minute

    handset = await _watch(await shopper.new_page(), problems)
    await _phone_gets_the_text(handset, dev, phone, camera)
    await office.goto(f"{dev.base}/inbox")
    await expect(office.locator("#live-state")).to_contain_text("Live", timeout=10_000)
    await camera.shoot(office, "inbox-list")
    link = await _agent_answers(office, handset, camera)

    back = await _watch(await shopper.new_page(), problems)
    await _shopper_comes_back_and_buys(back, link, camera)
    await _dashboard_shows_it(office, dev, camera)

    assert not problems and not camera.scrolling, {
        "console": problems,
        "sideways": camera.scrolling,
    }

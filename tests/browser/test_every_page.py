"""Every page a person opens, at laptop and phone width, in Chromium with no network beyond loopback.

A page fails on a console error, a failed or refused request, a response that is not HTML,
sideways scrolling at 390 px, a field too narrow for its words, or inbox row parts drawn over
each other. Screenshots go to test-artifacts/ for a person to look at.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from litestar import get
from playwright.async_api import Page, async_playwright

from app.accounts.models import Role
from app.accounts.services import create_agent
from app.checkouts import services as checkouts
from app.checkouts.models import Checkout
from app.checkouts.schemas import CheckoutInput, ContactInput, LineItem
from app.config import use_settings
from app.core.timeutil import utcnow
from app.messaging.models import Message
from app.recovery import flows, links
from app.recovery import services as recovery
from app.recovery.models import Flow, FlowStep, Segment
from app.recovery.schemas import FlowPatch
from app.server import create_app
from tests.factories import CHROMIUM, CHROMIUM_ARGS, free_port, make_store

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "pages"
PASSWORD = "correct horse battery"
LAYOUTS = {"laptop": {"width": 1366, "height": 900}, "phone": {"width": 390, "height": 844}}
SHOPPER, OTHER = "+14155550173", "+12075550148"


@dataclass
class Site:
    base: str
    magic_link: str
    unsubscribe: str


async def _crash() -> None:
    raise RuntimeError("a bug, for the error page")


@pytest.fixture
async def site(settings: Any) -> AsyncIterator[Site]:
    """`followup dev`'s app (outbox, phone) on a real port, with a store worth looking at."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    dev = dataclasses.replace(
        settings,
        dev_mode=True,
        server=dataclasses.replace(settings.server, public_url=base),
        twilio=dataclasses.replace(settings.twilio, account_sid="", auth_token=""),
    )
    use_settings(dev)
    app = create_app(dev, manage_db=False)
    app.register(get("/dev/crash", include_in_schema=False)(_crash))
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on")
    )
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    try:
        yield await _seed(base)
    finally:
        server.should_exit = True
        await task
        use_settings(settings)


async def _seed(base: str) -> Site:
    issued = await make_store(
        "custom",
        domain="127.0.0.1",
        name="Velvet Fern Goods",
        sms_number="+14155550100",
        timezone="America/Los_Angeles",
    )
    store = issued.store
    store.allowed_origins = [base]
    await store.save(update_fields=["allowed_origins"])
    await create_agent(store, "owner@velvet.example", Role.OWNER, "Demo Owner", PASSWORD)
    await create_agent(store, "nia@velvet.example", Role.AGENT, "Nia", PASSWORD)
    checkout = await _abandoned_cart(base, store, store.publishable_key)
    enrollment = await recovery.enroll(checkout.id)
    assert enrollment is not None
    holiday = {"name": "Holiday hours", "starts_at": "2020-01-01", "ends_at": "2099-01-01"}
    await flows.patch_flow(store, enrollment.flow_id or 0, FlowPatch(seasons=[holiday]))
    async with httpx.AsyncClient(base_url=base) as http:
        for number, body in (
            (SHOPPER, "Is the sage pillow still in stock? I'd like two for the sofa."),
            (OTHER, "Do you ship to Canada? " * 6),
        ):
            sent = await http.post(
                "/dev/phone/send", json={"store_id": store.id, "from": number, "body": body}
            )
            assert sent.status_code == 201, sent.text
    await _outbox(store.id, base)
    return Site(
        base,
        links.magic_link(enrollment.id, 0),
        links.unsubscribe_url(checkout.contact_id),  # type: ignore[attr-defined]
    )


async def _abandoned_cart(base: str, store: Any, key: str) -> Checkout:
    now = utcnow()
    items = [
        LineItem("Linen Throw Pillow", 2, Decimal("48.00"), "Sage / 20 x 20", "LTP-SAGE-20"),
        LineItem("Stoneware Mug", 1, Decimal("22.00"), "Oat", "MUG-OAT"),
    ]
    items[0].image_url = f"{base}/static/demo/pillow.svg"
    items[1].image_url = f"{base}/static/demo/mug.svg"
    total = Decimal("118.00")
    demo = f"{base}/static/demo/checkout.html?key={key}&restore=demo-1&cart=pillow:2,mug:1"
    contact = ContactInput(
        email="maya.okafor@example.com",
        phone=SHOPPER,
        first_name="Maya",
        last_name="Okafor",
        country="US",
        email_consent=True,
        sms_consent=True,
        consent_at=now - timedelta(hours=3),
    )
    data = CheckoutInput(
        token="demo-1",
        contact=contact,
        currency="USD",
        line_items=items,
        subtotal=total,
        total=total,
        recovery_url=demo,
        device="mobile",
        created_at=now - timedelta(hours=2),
        updated_at=now - timedelta(hours=2),
    )
    await checkouts.upsert_checkout(store, data, now - timedelta(hours=2))
    checkout = await Checkout.get(store=store, token="demo-1")
    await checkouts.mark_abandoned(checkout.id, now - timedelta(hours=1))
    return await Checkout.get(id=checkout.id)


async def _outbox(store_id: int, base: str) -> None:
    html = (
        f"<!doctype html><p>Hi Maya, your cart is waiting.</p>"
        f'<img src="{base}/static/demo/pillow.svg" alt="Linen Throw Pillow" width="64">'
    )
    for channel, body in (("sms", "Hi Maya, it's Velvet Fern Goods. Reply STOP to opt out."),):
        await Message.create(
            store_id=store_id,
            channel=channel,
            direction="outbound",
            author="automation",
            to_address=SHOPPER,
            body=body,
            status="delivered",
            provider="outbox",
            segments=1,
            season="Holiday hours",  # the dashboard's peak-season block has a row to show
        )
    await Message.create(
        store_id=store_id,
        channel="email",
        direction="outbound",
        author="automation",
        to_address="maya.okafor@example.com",
        subject="Your cart at Velvet Fern Goods",
        body="Hi Maya, your cart is waiting.",
        html=html,
        status="delivered",
        provider="outbox",
    )


class Watch:
    """Everything that went wrong on one page: console errors, refused and failed requests."""

    def __init__(self, page: Page, base: str, expected_status: int = 200) -> None:
        self.problems: list[str] = []
        self.expected_status = expected_status
        host = urlsplit(base).netloc
        page.on("console", self._console)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))
        page.on("requestfailed", self._failed)
        page.on("response", self._response)
        self.host = host

    def _failed(self, request: Any) -> None:
        # The flow editor's email preview is an iframe whose srcdoc is replaced on every edit: the
        # browser aborts the old document's image loads. That is the preview moving on, not a failure;
        # an abort in the page itself, or any other failure anywhere, still counts.
        # The tab icon is fetched by the browser itself, late and at low priority; going on to the
        # next page aborts that fetch. A missing icon still counts (an HTTP error, `_response`).
        aborted = request.failure == "net::ERR_ABORTED"
        replaced = aborted and request.frame.parent_frame is not None
        icon = aborted and urlsplit(request.url).path in ("/favicon.ico", "/static/favicon.svg")
        if not (replaced or icon):
            self.problems.append(f"failed: {request.url} {request.failure}")

    def _console(self, message: Any) -> None:
        own = f"status of {self.expected_status}"
        if message.type == "error" and not (self.expected_status >= 400 and own in message.text):
            self.problems.append(f"console: {message.text}")

    def _response(self, response: Any) -> None:
        main = (
            response.request.is_navigation_request() and response.request.frame.parent_frame is None
        )
        ok = response.status < 400 or (main and response.status == self.expected_status)
        if not ok:
            self.problems.append(f"HTTP {response.status}: {response.url}")


async def _offline(context: Any, base: str) -> list[str]:
    """Only loopback answers, as on a machine without internet; what else was asked is kept."""
    outside: list[str] = []
    host = urlsplit(base).netloc

    async def route(route: Any) -> None:
        url = route.request.url
        if urlsplit(url).netloc == host or url.startswith(("data:", "blob:", "about:")):
            await route.continue_()
        else:
            outside.append(url)
            await route.abort("internetdisconnected")

    await context.route("**/*", route)
    return outside


async def _login(page: Page, base: str, email: str, landing: str) -> None:
    await page.goto(f"{base}/login")
    await page.fill("#email", email)
    await page.fill("#password", PASSWORD)
    await page.click("button[type=submit]")
    await page.wait_for_url(f"{base}{landing}")


async def _settled(page: Page) -> None:
    await page.wait_for_load_state("networkidle")


async def _check(page: Page, name: str, layout: str, watch: Watch, response: Any = None) -> None:
    await _settled(page)
    if response is not None:
        kind = response.headers.get("content-type", "")
        assert kind.startswith("text/html"), f"{name}: answered {kind}"
        assert response.status == watch.expected_status, f"{name}: HTTP {response.status}"
    if layout == "phone":
        overflow = await page.evaluate("document.documentElement.scrollWidth - innerWidth")
        assert overflow <= 1, f"{name}: scrolls sideways by {overflow}px at 390 px"
    assert await page.evaluate(CUT_SHORT) == [], f"{name} ({layout}): words cut short"
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}-{layout}.png"), full_page=True)
    assert watch.problems == [], f"{name} ({layout}): {watch.problems}"


OVERLAPS = """() => {
  const hit = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
    && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  const out = [];
  for (const row of document.querySelectorAll('.conv')) {
    const parts = [...row.querySelectorAll('.name, .time, .preview, .meta > *')]
      .filter((n) => n.getClientRects().length);
    for (let i = 0; i < parts.length; i++) for (let j = i + 1; j < parts.length; j++) {
      const a = parts[i].getBoundingClientRect(), b = parts[j].getBoundingClientRect();
      if (hit(a, b)) out.push(parts[i].className + ' over ' + parts[j].className);
      const r = row.getBoundingClientRect();
      if (a.right > r.right + 0.5 || a.bottom > r.bottom + 0.5) out.push(parts[i].className + ' outside its row');
    }
  }
  return out;
}"""


CLIPPED = """() => {
  const pane = document.querySelector('.inbox-list').getBoundingClientRect();
  return ['#search', '[data-view-filter=all]', '#status-filter']
    .filter((q) => document.querySelector(q).getBoundingClientRect().right > pane.right + 0.5);
}"""
CUT_SHORT = """() => {
  // A field whose words do not fit: a select narrower than its longest choice, or a text box
  // narrower than its placeholder. Every field a person can see on our pages (not the API docs').
  const pen = document.createElement('canvas').getContext('2d');
  const out = [];
  const fields = document.querySelectorAll('select, input[placeholder]:not([type=checkbox]):not([type=radio])');
  for (const node of fields) {
    if (!node.getClientRects().length || node.closest('.swagger-ui')) continue;
    const have = node.getBoundingClientRect().width;
    let need;
    if (node.tagName === 'SELECT') {
      const twin = node.cloneNode(true);
      twin.style.cssText = 'position:absolute;visibility:hidden;width:auto;min-width:0;max-width:none;flex:none';
      node.parentNode.appendChild(twin);
      need = twin.getBoundingClientRect().width;
      twin.remove();
    } else {
      const style = getComputedStyle(node);
      pen.font = `${style.fontStyle} ${style.fontWeight} ${style.fontSize} ${style.fontFamily}`;
      need = pen.measureText(node.placeholder).width + parseFloat(style.paddingLeft)
        + parseFloat(style.paddingRight) + parseFloat(style.borderLeftWidth) + parseFloat(style.borderRightWidth);
    }
    const name = node.id ? `#${node.id}` : `${node.tagName.toLowerCase()}[name=${node.name}]`;
    if (have + 0.5 < need) out.push(`${name}: ${Math.round(have)} px for ${Math.ceil(need)} px of words`);
  }
  return out;
}"""
COVERED = """() => {
  const box = (q) => document.querySelector(q).getBoundingClientRect();
  const bar = box('.topbar'), head = box('.thread-head'), first = box('#messages > li');
  const fine = head.top >= bar.bottom - 0.5 && first.top >= head.bottom - 0.5;
  return fine ? null : {bar: bar.bottom, head: [head.top, head.bottom], first: first.top};
}"""


ONE_LINE = """(q) => {
  const node = document.querySelector(q);
  return node.getBoundingClientRect().height < 1.5 * parseFloat(getComputedStyle(node).lineHeight);
}"""


async def _visit(page: Page, watch: Watch, url: str, name: str, layout: str) -> None:
    response = await page.goto(url)
    await _check(page, name, layout, watch, response)


@pytest.mark.parametrize("layout", list(LAYOUTS))
async def test_every_page_in_both_layouts(site: Site, layout: str) -> None:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            await _public_pages(browser, site, layout)
            await _owner_pages(browser, site, layout)
            await _agent_pages(browser, site, layout)
        finally:
            await browser.close()


async def _fresh(browser: Any, site: Site, layout: str) -> tuple[Any, list[str]]:
    context = await browser.new_context(viewport=LAYOUTS[layout])
    return context, await _offline(context, site.base)


async def _public_pages(browser: Any, site: Site, layout: str) -> None:
    pages = [
        ("login", "/login", 200),
        ("unsubscribe", site.unsubscribe, 200),
        ("magic-link-landing", site.magic_link, 200),
        ("dev-outbox", "/dev/outbox/", 200),
        ("dev-phone", "/dev/phone/", 200),
        ("api-docs", "/schema", 200),
        ("error-404", "/no-such-page", 404),
        ("error-500", "/dev/crash", 500),
    ]
    for name, path, status in pages:
        context, outside = await _fresh(browser, site, layout)
        page = await context.new_page()
        watch = Watch(page, site.base, status)
        url = path if path.startswith("http") else site.base + path
        await _visit(page, watch, url, name, layout)
        if name == "api-docs":
            await page.locator(".opblock").first.wait_for()
            assert await page.locator(".opblock", has_text="/api/v1/checkouts").count() > 0
            await page.screenshot(path=str(ARTIFACTS / f"{name}-{layout}.png"), full_page=True)
        if name == "dev-phone":  # the number the texts go to, under the store's name
            number = await page.get_attribute("#store option:checked", "data-number")
            assert number and await page.inner_text("[data-testid=store-number]") == number
        if name == "magic-link-landing":
            assert "/static/demo/checkout.html" in page.url
        assert outside == [], f"{name} asked the internet for {outside}"
        await context.close()


async def _owner_pages(browser: Any, site: Site, layout: str) -> None:
    context, outside = await _fresh(browser, site, layout)
    page = await context.new_page()
    watch = Watch(page, site.base)
    await _login(page, site.base, "owner@velvet.example", "/dashboard")
    await _check(page, "dashboard", layout, watch)
    assert "Holiday hours" in await page.locator("[data-testid=seasons]").inner_text()
    await page.select_option("[data-testid=flow-picker]", index=1)  # the first flow, by the picker
    await page.click(".filters button[type=submit]")
    await page.wait_for_url("**/dashboard?*flow=*")
    await _check(page, "dashboard-one-flow", layout, watch)
    await _checkouts(context, page, watch, site, layout)
    for name in ("flows", "settings"):
        await _visit(page, watch, f"{site.base}/{name}", name, layout)
    team = "(() => { const s = document.querySelector('#team .scroll'); return s.scrollWidth - s.clientWidth; })()"
    assert await page.evaluate(team) <= 1, "the team table is cut off"
    if layout == "laptop":
        await _flow_editor(page, watch, site)
    await _gallery(page, watch, site, layout)
    await _segments(page, watch, site, layout)
    await _inbox(page, watch, site, layout)
    assert outside == [], outside
    await context.close()


async def _checkouts(context: Any, page: Page, watch: Watch, site: Site, layout: str) -> None:
    """The list with its row, its empty state, a bad filter's page, and the way to the thread."""
    await _visit(page, watch, f"{site.base}/checkouts", "checkouts", layout)
    row = page.get_by_test_id("checkout-row").first
    assert "Maya" in await row.inner_text() and "$118.00" in await row.inner_text()
    await _visit(page, watch, f"{site.base}/checkouts?q=nobody", "checkouts-empty", layout)
    bad = await context.new_page()
    await _visit(
        bad,
        Watch(bad, site.base, 400),
        f"{site.base}/checkouts?status=lost",
        "checkouts-400",
        layout,
    )
    assert "Status must be one of" in await bad.inner_text("main")
    await bad.close()
    await page.goto(f"{site.base}/checkouts")
    await page.get_by_test_id("conversation-link").first.click()
    await page.wait_for_url("**/inbox?conversation=*")
    await page.locator("#messages > li").first.wait_for()
    assert "sage pillow" in await page.locator("#messages").inner_text()
    # Opening the thread marks it read; leaving before that answers would abort the request and
    # count it against the next page.
    await _settled(page)


async def _flow_editor(page: Page, watch: Watch, site: Site) -> None:
    """The email preview shows the product; a mistake reads in words and hides the stale preview."""
    await _visit(page, watch, f"{site.base}/flows", "flows", "laptop")
    await page.click("[data-testid=subject-1-0]")
    frame = page.frame_locator("[data-testid=email-frame]")
    image = frame.locator("table.items img").first
    await image.wait_for()
    assert await image.evaluate("(img) => img.complete && img.naturalWidth > 0")
    await page.click("[data-testid=body-0-0]")
    await page.fill("[data-testid=body-0-0]", "Hi {{ frist_name }}")
    error = page.locator("#preview-error")
    await error.wait_for(state="visible")
    assert (await error.inner_text()).startswith("Step 1, variant A, message body: unknown")
    assert await page.locator("#preview-sms").is_hidden()
    assert await page.locator("#preview-email").is_hidden()
    watch.expected_status = 422  # the refused preview and save below answer 422 on purpose
    await page.click("#save")
    problem = page.locator("#problem")
    await problem.wait_for(state="visible")
    assert (await problem.inner_text()).startswith("Step 1, variant A, message body: unknown")
    watch.problems = [p for p in watch.problems if "422" not in p]
    watch.expected_status = 200
    await page.screenshot(path=str(ARTIFACTS / "flows-error-laptop.png"), full_page=True)


async def _gallery(page: Page, watch: Watch, site: Site, layout: str) -> None:
    """Several flows: a template from the gallery is added paused and opened in the editor."""
    await _visit(page, watch, f"{site.base}/flows#gallery", "flows-gallery", layout)
    assert await page.locator("[data-testid=gallery] form").count() == 8
    await page.click("button[aria-label='Add the Birthday template']")
    await page.wait_for_url("**/flows?flow=*")
    await _check(page, "flows-with-birthday", layout, watch)
    rows = page.locator("[data-testid=flow-list] tbody tr")
    assert await rows.count() == 2
    mine = rows.nth(1)
    assert "Birthday" in await mine.inner_text() and "Paused" in await mine.inner_text()
    assert await page.input_value("#flow-name") == "Birthday"
    assert await page.input_value("#flow-enabled") == "false"
    await _seasons(page, watch, layout)


async def _seasons(page: Page, watch: Watch, layout: str) -> None:
    """The open flow gets the Black Friday preset; the default flow's season is in force now."""
    await page.click("text=Add Black Friday to Cyber Monday")
    await page.wait_for_url("**/flows?flow=*#seasons")
    await _check(page, "flows-with-season", layout, watch)
    season = page.locator("[data-testid=seasons] tbody tr")
    assert await season.count() == 1
    assert "Black Friday" in await season.inner_text()
    now = page.locator("[data-testid=season-now]")
    assert await now.nth(0).inner_text() == "Holiday hours"
    assert await now.nth(1).inner_text() == "Regular schedule"


async def _segments(page: Page, watch: Watch, site: Site, layout: str) -> None:
    """A segment made with the form, its live count as it is typed, then the entry of a flow."""
    name = f"Regulars {layout}"
    await _visit(page, watch, f"{site.base}/flows#segments", "flows-segments", layout)
    live = page.locator("[data-testid=segment-live-count]")
    await page.wait_for_function(
        "() => /contacts? match/.test(document.querySelector('#segment-live-count').textContent)"
    )
    everyone = int((await live.inner_text()).split()[0])
    assert everyone >= 1  # the seeded shopper
    await page.fill("#seg-name", name)
    await page.fill("#seg-tags-any", "vip")
    await page.wait_for_function(
        "() => document.querySelector('#segment-live-count').textContent === '0 contacts match'"
    )
    await page.fill("#seg-tags-any", "")
    await page.check("input[name=groups][value=prospects]")
    await page.wait_for_function(
        f"() => document.querySelector('#segment-live-count').textContent"
        f" === '{everyone} {'contact matches' if everyone == 1 else 'contacts match'}'"
    )
    await page.click("#segment-form button[type=submit]")
    await page.wait_for_url("**/flows?saved_segment=*")
    await _check(page, "flows-segments-saved", layout, watch)
    row = page.locator("[data-testid=segment-list] tbody tr", has_text=name)
    assert "No order yet" in await row.inner_text()
    await row.locator("a").click()
    await page.wait_for_url("**/flows?segment=*")
    await _check(page, "flows-segment-edit", layout, watch)
    assert await page.input_value("#seg-name") == name
    assert await page.is_checked("input[name=groups][value=prospects]")
    await page.select_option("#flow-segment", label=name)
    await page.select_option("[data-testid=step-segment-0]", label=f"Only the segment {name}")
    await page.click("#save")
    await page.locator("#status", has_text="Saved").wait_for()
    flow = await Flow.get(id=int(await page.get_attribute("#editor", "data-flow-id")))
    segment = await Segment.get(name=name)
    assert flow.segment_id == segment.id
    assert (await FlowStep.get(flow=flow, position=0)).segment_id == segment.id


async def _inbox(page: Page, watch: Watch, site: Site, layout: str) -> None:
    await _visit(page, watch, f"{site.base}/inbox", "inbox-list", layout)
    await page.locator(".conv").nth(1).wait_for()
    assert await page.evaluate(OVERLAPS) == []
    assert await page.evaluate(CLIPPED) == []
    if layout == "laptop":
        empty = await page.inner_text(".inbox-cart")
        assert "Open a conversation" in empty and "No live cart" not in empty
    await _check(page, "inbox-list", layout, watch)
    await page.fill("#search", "nobody by this name")
    await page.locator("#list-empty").wait_for()
    gap = "document.getElementById('list-empty').getBoundingClientRect().top"
    gap += " - document.querySelector('.inbox-filters').getBoundingClientRect().bottom"
    assert await page.evaluate(gap) < 40, "'Nothing here' should sit under the filters"
    await page.fill("#search", "")
    await page.locator(".conv").nth(1).wait_for()
    await page.locator(".conv", has_text="sage pillow").click()
    await page.locator(".msg.in").first.wait_for()
    await page.fill("#body", "Yes, we have 3 left in sage. Want me to hold two?")
    await page.press("#body", "Control+Enter")
    await page.locator(".msg.out", has_text="hold two").wait_for()
    assert "Demo Owner" in await page.inner_text(".msg.out >> nth=-1")  # not "Agent"
    await page.mouse.wheel(0, 2000)  # as a thumb would: nothing may slide under the top bar
    await page.wait_for_timeout(200)
    assert await page.evaluate(COVERED) is None
    assert await page.evaluate(ONE_LINE, "#segments"), "the segment counter wraps"
    await _check(page, "inbox-thread", layout, watch)
    if layout == "phone":
        await page.click("#show-cart")
    await page.locator("#cart-items li").first.wait_for()
    assert await page.inner_text("#cart-total") == "$118.00"
    assert (await page.inner_text("[data-testid=sequence-next]")).startswith("Next: SMS at ")
    assert await page.inner_text("[data-testid=sequence-state]") == "Running · 0 of 5 steps sent"
    shown = [b for b in ("pause", "resume", "stop") if await page.is_visible(f"[data-seq={b}]")]
    assert shown == ["pause", "stop"]
    await _check(page, "inbox-cart", layout, watch)


async def _agent_pages(browser: Any, site: Site, layout: str) -> None:
    context, outside = await _fresh(browser, site, layout)
    page = await context.new_page()
    await _login(page, site.base, "nia@velvet.example", "/inbox")
    await _settled(page)  # the inbox's own requests finish before the agent navigates on
    watch = Watch(page, site.base, 403)
    await _visit(page, watch, f"{site.base}/dashboard", "error-403", layout)
    assert outside == [], outside
    await context.close()

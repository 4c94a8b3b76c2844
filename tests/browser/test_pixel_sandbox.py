"""Chromium, built like Shopify's strict pixel sandbox (a worker inside a sandboxed iframe), posts to /collect.

It shows which Origin such a worker really sends (`null`: a custom store refuses it until it
lists "null") and that a Shopify store accepts the pixel's events from there.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import threading
import time
from collections.abc import AsyncIterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.async_api import async_playwright

from app.ingest.models import RawEvent
from app.server import create_app
from app.stores.models import Store
from tests.factories import CHROMIUM, CHROMIUM_ARGS, free_port, make_store
from tests.shopify.conftest import SHOP
from tests.vendor_tools import program

pytestmark = pytest.mark.browser
PIXEL = Path(__file__).resolve().parents[2] / "shopify_extension" / "extensions" / "followup-pixel"

# The storefront page hosts a sandboxed iframe (scripts only, no same-origin), which starts a web
# worker; the worker sends what the pixel's send() sends, with the same fetch options.
PAGE = """<!doctype html><html><body><iframe sandbox="allow-scripts" srcdoc="
<script>
const code = 'onmessage = async (e) => { try { const r = await fetch(e.data.url, {method: \\'POST\\',' +
  ' keepalive: true, headers: {\\'Content-Type\\': \\'text/plain;charset=UTF-8\\'}, body: e.data.body});' +
  ' postMessage({status: r.status}); } catch (err) { postMessage({error: String(err)}); } };';
const worker = new Worker(URL.createObjectURL(new Blob([code], {type: 'text/javascript'})));
onmessage = (e) => worker.postMessage(e.data);
worker.onmessage = (e) => parent.postMessage(e.data, '*');
parent.postMessage({ready: true}, '*');
</script>"></iframe>
<script>
window.results = []; window.ready = false;
onmessage = (e) => { if (e.data.ready) window.ready = true; else window.results.push(e.data); };
window.send = (message) => document.querySelector('iframe').contentWindow.postMessage(message, '*');
</script></body></html>"""


@pytest.fixture
async def app_url(settings: Any) -> AsyncIterator[str]:
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, manage_db=False), host="127.0.0.1", port=port, log_level="warning"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task


class _Storefront(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = PAGE.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: Any) -> None:
        return


@pytest.fixture
async def sandbox(app_url: str) -> AsyncIterator[Any]:
    """The storefront on its own loopback origin (as a shop's checkout is on its own domain)."""
    storefront = ThreadingHTTPServer(("127.0.0.1", 0), _Storefront)
    threading.Thread(target=storefront.serve_forever, daemon=True).start()
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = await browser.new_page()
        await page.goto(f"http://127.0.0.1:{storefront.server_port}/checkouts/cn/sandbox-test")
        await page.wait_for_function("window.ready")
        yield page
        await browser.close()
    storefront.shutdown()


def _pixel_body(key: str) -> str:
    """What the real pixel posts for checkout_started (test/emit.mjs runs src/ in node)."""
    done = subprocess.run(
        [program("node"), "test/emit.mjs", "https://unused.example/collect/v1/events", key],
        cwd=PIXEL,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.dumps(json.loads(done.stdout.splitlines()[0])["body"])


async def _post_from_the_sandbox(page: Any, app_url: str, key: str) -> dict[str, Any]:
    before = len(await page.evaluate("window.results"))
    body = _pixel_body(key)
    await page.evaluate(
        "m => window.send(m)", {"url": f"{app_url}/collect/v1/events?key={key}", "body": body}
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        results = await page.evaluate("window.results")
        if len(results) > before:
            return results[-1]
        await asyncio.sleep(0.05)
    raise AssertionError("the sandboxed worker never answered")


async def test_a_sandboxed_worker_sends_origin_null_and_shopify_stores_accept_it(sandbox, app_url):
    custom = (await make_store("custom")).store
    listing = (await make_store("custom", domain="second.example.com")).store
    await Store.filter(id=listing.id).update(allowed_origins=["null"])

    refused = await _post_from_the_sandbox(sandbox, app_url, custom.publishable_key)
    assert "error" in refused  # 403 without CORS headers: the worker's fetch fails
    assert await RawEvent.filter(store=custom).count() == 0
    # A store that lists "null" accepts the same request: so the worker's origin was null.
    accepted = await _post_from_the_sandbox(sandbox, app_url, listing.publishable_key)
    assert accepted == {"status": 202}
    assert await RawEvent.filter(store=listing).count() == 1

    shop = (await make_store("shopify", domain=SHOP)).store
    assert await _post_from_the_sandbox(sandbox, app_url, shop.publishable_key) == {"status": 202}
    assert await RawEvent.filter(store=shop).count() == 1

"""The web pixel extension: its node tests run in CI, and what it posts is accepted by /collect."""

from __future__ import annotations

import asyncio
import json
import tomllib
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.checkouts.models import Checkout, CheckoutStatus, Contact, Order
from app.integrations.shopify.registration import METAFIELD_NAMESPACES, TOPICS
from tests.factories import make_store
from tests.shopify.conftest import SHOP
from tests.vendor_tools import program

ROOT = Path(__file__).resolve().parents[2]
PIXEL = ROOT / "shopify_extension" / "extensions" / "followup-pixel"


async def _node(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        program("node"),
        *args,
        cwd=PIXEL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    return proc.returncode or 0, out.decode(), err.decode()


@pytest.mark.needs_tool("node")
async def test_node_test_suite_of_the_pixel_passes():
    code, out, err = await _node("--test", "test/pixel.test.mjs")
    assert code == 0, out + err
    assert "# fail 0" in out and "# pass 8" in out


def test_extension_toml_declares_a_strict_web_pixel_with_its_settings():
    config = tomllib.loads((PIXEL / "shopify.extension.toml").read_text())
    assert config["type"] == "web_pixel_extension" and config["runtime_context"] == "strict"
    assert set(config["customer_privacy"]) == {
        "analytics",
        "marketing",
        "preferences",
        "sale_of_data",
    }
    assert set(config["settings"]["fields"]) == {"collectUrl", "publishableKey"}


def test_app_toml_declares_scopes_and_every_webhook_the_app_serves():
    app = tomllib.loads((ROOT / "shopify_extension" / "shopify.app.toml").read_text())
    assert "write_pixels" in app["access_scopes"]["scopes"]
    subs = app["webhooks"]["subscriptions"]
    topics = {t for s in subs for t in s.get("topics", [])}
    assert topics == {
        "checkouts/create",
        "checkouts/update",
        "checkouts/delete",
        "orders/create",
        "orders/paid",
        "orders/updated",
        "orders/cancelled",
        "app/uninstalled",
    }
    # customers/create|update come only from registration.py's API subscriptions, which name
    # the birthday metafield namespaces (the TOML cannot; its comment says why).
    assert {"CUSTOMERS_CREATE", "CUSTOMERS_UPDATE"} <= set(TOPICS) and set(
        METAFIELD_NAMESPACES
    ) == {
        "CUSTOMERS_CREATE",
        "CUSTOMERS_UPDATE",
    }
    compliance = next(s for s in subs if "compliance_topics" in s)
    assert set(compliance["compliance_topics"]) == {
        "customers/data_request",
        "customers/redact",
        "shop/redact",
    }
    assert compliance["uri"] == "/webhooks/shopify/compliance"


@pytest.mark.needs_tool("node")
async def test_what_the_pixel_posts_is_accepted_by_the_collect_endpoint(client, run_jobs):
    issued = await make_store("shopify", domain=SHOP)
    store = issued.store
    code, out, err = await _node(
        "test/emit.mjs", "https://app.example.com/collect/v1/events", store.publishable_key
    )
    assert code == 0, err
    posts = [json.loads(line) for line in out.splitlines()]
    assert [p["body"]["event"] for p in posts] == [
        "Checkout Started",
        "Checkout Step Completed",
        "Checkout Step Completed",
        "Order Completed",
    ]
    for post in posts[:3]:
        url = urlsplit(post["url"])
        response = await client.post(
            f"{url.path}?{url.query}",
            content=json.dumps(post["body"]),
            headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": f"https://{SHOP}"},
        )
        assert response.status_code == 202, response.text
        assert response.json()["accepted"] == 1
    await run_jobs()
    checkout = await Checkout.get(store=store)
    assert checkout.token == "e3b0f1c2a9d84c7b8f6e5d4c3b2a1908"
    assert checkout.email == "maya.okafor@example.com" and checkout.phone == "+14155550173"
    # The emitted events carry the sample's January timestamps: overdue, so already abandoned.
    assert checkout.total == Decimal("118") and checkout.status == CheckoutStatus.ABANDONED
    assert checkout.line_items[0]["product_url"].endswith("/products/linen-throw-pillow")
    assert checkout.line_items[0]["image_url"].endswith("linen-pillow-sage.jpg?v=1731000000")
    contact = await Contact.get(store=store)
    assert contact.sms_consent and contact.email_consent and contact.first_name == "Maya"

    url = urlsplit(posts[3]["url"])
    done = await client.post(
        f"{url.path}?{url.query}",
        content=json.dumps(posts[3]["body"]),
        headers={"Origin": f"https://{SHOP}"},
    )
    assert done.status_code == 202 and done.json()["accepted"] == 1
    await run_jobs()
    assert (await Order.get(store=store)).external_id == "6112345678901"
    assert (await Checkout.get(store=store)).status == CheckoutStatus.COMPLETED


async def _pixel_post(client, key: str, origin: str) -> object:
    code, out, err = await _node("test/emit.mjs", "https://app.example.com/collect/v1/events", key)
    assert code == 0, err
    post = json.loads(out.splitlines()[0])
    url = urlsplit(post["url"])
    return await client.post(
        f"{url.path}?{url.query}",
        content=json.dumps(post["body"]),
        headers={"Content-Type": "text/plain;charset=UTF-8", "Origin": origin},
    )


async def test_the_strict_sandbox_origin_null_is_accepted_for_shopify_stores(client, run_jobs):
    # App pixels run in a web worker started from a sandboxed iframe: an opaque origin, sent as
    # `Origin: null`. The pixel swallows errors, so refusing it would lose every event silently.
    store = (await make_store("shopify", domain=SHOP)).store
    response = await _pixel_post(client, store.publishable_key, "null")
    assert response.status_code == 202, response.text
    assert response.json()["accepted"] == 1
    assert response.headers["access-control-allow-origin"] == "null"
    await run_jobs()
    assert (await Checkout.get(store=store)).email == "maya.okafor@example.com"


async def test_origin_null_is_still_refused_where_no_sandbox_sends_it(client):
    shopify_store = (await make_store("shopify", domain=SHOP)).store
    custom = (await make_store("custom")).store
    refused = await _pixel_post(client, custom.publishable_key, "null")
    assert refused.status_code == 403 and refused.json()["error"] == "origin_not_allowed"
    other_site = await _pixel_post(client, shopify_store.publishable_key, "https://evil.example")
    assert other_site.status_code == 403
    unknown_key = await _pixel_post(client, "fu_pk_not_a_key", "null")
    assert unknown_key.status_code == 404
    assert await Checkout.all().count() == 0

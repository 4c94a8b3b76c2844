"""Builders for rows and signed deliveries, so tests read as the scenario they check."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import socket
import time
import uuid
from pathlib import Path
from typing import Any

from app.stores.models import Platform
from app.stores.services import IssuedCredentials, create_store

PAYLOADS = Path(__file__).parent / "payloads"
SHOPIFY_SECRET = "shpss_test_secret_do_not_use"


def payload(name: str) -> Any:
    return json.loads((PAYLOADS / name).read_text())


def payload_bytes(name: str) -> bytes:
    return (PAYLOADS / name).read_bytes()


async def make_store(
    platform: str = "shopify", domain: str | None = None, **kwargs: Any
) -> IssuedCredentials:
    domain = (
        domain
        or {
            "shopify": "velvet-fern-goods.myshopify.com",
            "woocommerce": "shop.tidewaterteas.example",
            "custom": "shop.example.com",
        }[platform]
    )
    return await create_store(platform=Platform(platform), domain=domain, **kwargs)


def b64_hmac(secret: str, body: bytes) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def shopify_headers(
    body: bytes,
    topic: str,
    shop: str = "velvet-fern-goods.myshopify.com",
    webhook_id: str | None = None,
    secret: str = SHOPIFY_SECRET,
    triggered_at: str | None = None,
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": b64_hmac(secret, body),
        "X-Shopify-Shop-Domain": shop,
        "X-Shopify-API-Version": "2026-01",
        "X-Shopify-Webhook-Id": webhook_id or str(uuid.uuid4()),
        "X-Shopify-Event-Id": str(uuid.uuid4()),
        "X-Shopify-Triggered-At": triggered_at or "2026-01-08T18:41:07.512Z",
    }


def woo_headers(
    body: bytes, secret: str, topic: str = "order.created", delivery_id: str | None = None
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-WC-Webhook-Topic": topic,
        "X-WC-Webhook-Resource": topic.split(".")[0],
        "X-WC-Webhook-Event": topic.split(".")[1],
        "X-WC-Webhook-Signature": b64_hmac(secret, body),
        "X-WC-Webhook-ID": "14",
        "X-WC-Webhook-Delivery-ID": delivery_id or uuid.uuid4().hex,
    }


def plugin_headers(
    body: bytes,
    secret: str,
    event: str = "cart.updated",
    timestamp: int | None = None,
    delivery_id: str | None = None,
) -> dict[str, str]:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": "application/json",
        "X-FollowUp-Event": event,
        "X-FollowUp-Timestamp": str(ts),
        "X-FollowUp-Signature": b64_hmac(secret, f"{ts}.".encode() + body),
        "X-FollowUp-Delivery-Id": delivery_id or uuid.uuid4().hex,
    }


def fresh_shopify_checkout(**changes: Any) -> bytes:
    """The documented checkout, but updated just now, so it is not already overdue for abandonment."""
    from datetime import UTC, datetime

    doc = payload("shopify_checkouts_create.json")
    doc["updated_at"] = datetime.now(UTC).isoformat()
    doc.update(changes)
    return json.dumps(doc).encode()


def jbytes(data: Any) -> bytes:
    return json.dumps(data).encode()


def free_port() -> int:
    """A loopback port nothing holds right now: tests never assume a fixed one is free."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# Debian's chromium driven by Playwright: never a downloaded browser, no background traffic.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]

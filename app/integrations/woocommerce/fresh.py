"""Products' current price and stock from our WooCommerce plugin: one signed lookup per store,
right before a recovery message is rendered (the plugin's `followup/v1/products` route).

Signed like the coupons route: `X-FollowUp-Signature` = base64(HMAC-SHA256(webhook secret,
"{timestamp}.{body}")). The plugin answers `{"currency": "USD", "products": {"<id>": {"price":
"12.00", "regular_price": "15.00", "purchasable": true, "in_stock": true, "stock_quantity": 3}
| null}}`, keyed by the variation id when the line has one (else the product id); null: the
product is gone.
"""

from __future__ import annotations

import json
import time
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx

from app.checkouts.current import CurrentLine
from app.integrations.woocommerce import webhooks as woo
from app.integrations.woocommerce.coupons import MAX_ANSWER_BYTES, site_url
from app.stores.models import Store

EVENT = "products.lookup"
ROUTE = "/followup/v1/products"
MAX_IDS = 100  # the plugin refuses larger lookups (its signed bodies stay small)


class LookupError_(RuntimeError):
    """The plugin gave no usable answer; the caller falls back to the captured cart."""


def products_url(store: Store) -> str:
    return f"{site_url(store).rstrip('/')}/?rest_route={ROUTE}"


def body(ids: list[str]) -> bytes:
    return json.dumps({"type": EVENT, "ids": ids}, separators=(",", ":")).encode()


def headers(secret: str, content: bytes, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        "User-Agent": "FollowUp",
        "X-FollowUp-Event": EVENT,
        "X-FollowUp-Timestamp": str(timestamp),
        "X-FollowUp-Signature": woo.sign_plugin(secret, timestamp, content),
    }


def _decimal(raw: Any) -> Decimal | None:
    if raw in (None, ""):
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def _line(raw: Any, currency: str) -> CurrentLine:
    if not isinstance(raw, dict):
        return CurrentLine.gone(currency)
    price = _decimal(raw.get("price"))
    if price is None:  # no price: WooCommerce will not sell it
        return CurrentLine.gone(currency)
    stock = raw.get("stock_quantity")
    return CurrentLine(
        price=price,
        currency=currency,
        compare_at=_decimal(raw.get("regular_price")),
        available=bool(raw.get("purchasable")) and bool(raw.get("in_stock")),
        inventory=stock if isinstance(stock, int) else None,
    )


def read_answer(status: int, content: bytes, ids: list[str]) -> dict[str, CurrentLine]:
    if status != 200:
        raise LookupError_(f"the plugin answered HTTP {status}: {content[:200]!r}")
    try:
        answer = json.loads(content[: MAX_ANSWER_BYTES * 4])
        currency = str(answer["currency"]).upper()
        products = answer["products"]
    except (ValueError, KeyError, TypeError):
        raise LookupError_("the plugin's answer was not a product lookup") from None
    if not isinstance(products, dict) or len(currency) != 3:
        raise LookupError_("the plugin's answer was not a product lookup")
    return {i: _line(products.get(i), currency) for i in ids if i in products}


async def current_lines(
    store: Store, variant_ids: list[str], wait_seconds: float
) -> dict[str, CurrentLine]:
    """What the store sells these products for now; ids the plugin did not answer stay unknown."""
    if not store.webhook_secret:
        raise LookupError_("the store has no webhook secret to sign the lookup with")
    found: dict[str, CurrentLine] = {}
    async with httpx.AsyncClient(timeout=wait_seconds, follow_redirects=False) as client:
        for start in range(0, len(variant_ids), MAX_IDS):
            ids = variant_ids[start : start + MAX_IDS]
            content = body(ids)
            response = await client.post(
                products_url(store), content=content, headers=headers(store.webhook_secret, content)
            )
            found |= read_answer(response.status_code, response.content, ids)
    return found

"""Coupons from our WooCommerce plugin: the app signs a request to its REST route and reads the answer.

Same scheme as every plugin call, in the other direction: `X-FollowUp-Signature` is
base64(HMAC-SHA256(webhook secret, "{timestamp}.{body}")), and the plugin refuses timestamps
outside five minutes. The request key (one per enrollment) makes a retry return the coupon
already made, so a lost answer never yields a second coupon.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

import httpx

from app.integrations.woocommerce import webhooks as woo
from app.stores.models import Store

COUPON_EVENT = "coupon.create"
ROUTE = "/followup/v1/coupons"
SITE_SETTING = "woocommerce_site"
TIMEOUT_SECONDS = 10.0
MAX_ANSWER_BYTES = 16_384


@dataclass(frozen=True, slots=True)
class CouponRequest:
    """One shopper's coupon: `discount_type` is WooCommerce's `percent` or `fixed_cart`."""

    key: str
    code: str
    discount_type: str
    amount: Decimal
    expires_at: datetime
    free_shipping: bool = False
    minimum_amount: Decimal | None = None
    email: str | None = None
    description: str = "FollowUp cart recovery"

    def body(self) -> bytes:
        document = {
            "type": COUPON_EVENT,
            "request_key": self.key,
            "code": self.code,
            "discount_type": self.discount_type,
            "amount": str(self.amount),
            "free_shipping": self.free_shipping,
            "minimum_amount": str(self.minimum_amount) if self.minimum_amount else None,
            "expires_at": self.expires_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "email": self.email,
            "description": self.description,
        }
        return json.dumps(document, separators=(",", ":")).encode()


@dataclass(frozen=True, slots=True)
class IssuedCoupon:
    coupon_id: int
    code: str
    created: bool
    expires_at: datetime | None


class CouponError(RuntimeError):
    """Why the plugin made no coupon, in words for the merchant; `status` is 0 when never reached."""

    def __init__(self, reason: str, status: int = 0) -> None:
        super().__init__(reason)
        self.reason, self.status = reason, status


def site_url(store: Store) -> str:
    """The WordPress address the plugin reported on its signed connection test, else the domain."""
    recorded = (store.settings or {}).get(SITE_SETTING)
    return str(recorded) if recorded else f"https://{store.domain}/"


def coupon_url(store: Store) -> str:
    # `?rest_route=` works with and without pretty permalinks, where `/wp-json/` needs them.
    return f"{site_url(store).rstrip('/')}/?rest_route={ROUTE}"


def clean_site(raw: Any) -> str | None:
    """A site address fit to call: http(s), a host, no credentials or query; else None."""
    if not isinstance(raw, str) or len(raw) > 255:
        return None
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname or parts.username:
        return None
    if parts.query or parts.fragment:
        return None
    return f"{parts.scheme}://{parts.netloc}{parts.path.rstrip('/')}/"


async def remember_site(store: Store, document: Any) -> str | None:
    """Keep the site address from the plugin's signed connection test: coupons are asked there."""
    site = clean_site(document.get("site")) if isinstance(document, dict) else None
    fresh = await Store.get_or_none(id=store.id)
    if site is None or fresh is None or (fresh.settings or {}).get(SITE_SETTING) == site:
        return site
    await Store.filter(id=store.id).update(settings={**(fresh.settings or {}), SITE_SETTING: site})
    return site


def signed_headers(secret: str, body: bytes, key: str, now: float | None = None) -> dict[str, str]:
    timestamp = int(time.time() if now is None else now)
    return {
        "Content-Type": "application/json",
        "User-Agent": "FollowUp",
        "X-FollowUp-Event": COUPON_EVENT,
        "X-FollowUp-Delivery-Id": key,
        "X-FollowUp-Timestamp": str(timestamp),
        "X-FollowUp-Signature": woo.sign_plugin(secret, timestamp, body),
    }


def _refusal(status: int, answer: dict[str, Any]) -> CouponError:
    said = str(answer.get("message") or "")[:300]
    if status == 401:
        return CouponError(
            f"the plugin refused our signature ({said}): the webhook secret in WooCommerce → "
            "Settings → FollowUp must be this store's",
            status,
        )
    if status == 404:
        return CouponError(
            "the store has no FollowUp coupon route: install or update the FollowUp for "
            "WooCommerce plugin and keep WooCommerce active",
            status,
        )
    if status == 409:
        return CouponError(f"the code is already used by another coupon ({said})", status)
    if 400 <= status < 500:
        return CouponError(f"the plugin refused the coupon: {said or f'HTTP {status}'}", status)
    return CouponError(f"the plugin answered HTTP {status}", status)


def read_answer(status: int, content: bytes) -> IssuedCoupon:
    """The plugin's answer as a coupon, or a CouponError saying why not."""
    try:
        answer = json.loads(content[:MAX_ANSWER_BYTES]) if content else {}
    except ValueError:
        answer = {}
    if not isinstance(answer, dict):
        answer = {}
    if status not in (200, 201):
        raise _refusal(status, answer)
    try:
        expires = answer.get("expires_at")
        return IssuedCoupon(
            coupon_id=int(answer["coupon_id"]),
            code=str(answer["code"]),
            created=answer.get("status") == "created",
            expires_at=datetime.fromisoformat(expires.replace("Z", "+00:00")) if expires else None,
        )
    except (KeyError, TypeError, ValueError, AttributeError):
        raise CouponError("the plugin's answer was not a coupon", status) from None


async def create_coupon(
    store: Store, request: CouponRequest, limit_seconds: float = TIMEOUT_SECONDS
) -> IssuedCoupon:
    """Ask the store's plugin for the coupon; raises CouponError with the reason when it cannot."""
    if not store.webhook_secret:
        raise CouponError("the store has no webhook secret to sign the request with")
    url, body = coupon_url(store), request.body()
    headers = signed_headers(store.webhook_secret, body, request.key)
    try:
        async with httpx.AsyncClient(timeout=limit_seconds, follow_redirects=False) as client:
            response = await client.post(url, content=body, headers=headers)
    except httpx.TimeoutException:
        raise CouponError(
            f"the plugin at {url} did not answer within {limit_seconds:g} s"
        ) from None
    except httpx.HTTPError as exc:
        reason = str(exc) or type(exc).__name__
        raise CouponError(f"the plugin at {url} could not be reached: {reason}") from None
    return read_answer(response.status_code, response.content)

"""Shopify OAuth: shop domain and query HMAC checks, the permission URL, and the token endpoint grants."""

from __future__ import annotations

import re
import time
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
import shopify
from shopify.utils import shop_url

from app.config import ShopifySettings, get_settings

# Anchored both ends; the library's own pattern lowercases first, so we do too.
SHOP_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]*\.myshopify\.com$")
# The JS library allows 90 s, the Python one 24 h; a callback is followed within seconds, so be strict.
MAX_QUERY_AGE_SECONDS = 600
TOKEN_EXCHANGE = "urn:ietf:params:oauth:grant-type:token-exchange"
ID_TOKEN = "urn:ietf:params:oauth:token-type:id_token"
OFFLINE_TOKEN = "urn:shopify:params:oauth:token-type:offline-access-token"


class OAuthError(ValueError):
    """A request that must be refused; the message says why, fit for a 4xx body."""


class BadSignature(OAuthError):
    """The query's hmac is missing or wrong: the request did not come from Shopify."""


class TokenRequestError(RuntimeError):
    """Shopify's token endpoint refused a grant (bad code, spent refresh token, revoked install)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"Shopify token endpoint answered {status}: {detail[:300]}")
        self.status = status


def valid_shop(shop: str | None) -> str:
    """The shop's myshopify domain, lowercased, or OAuthError: never build a URL from anything else."""
    if not shop or "." not in shop:
        raise OAuthError(f"shop {shop!r} is not a valid *.myshopify.com domain")
    sanitized = shop_url.sanitize_shop_domain(shop)
    if not sanitized or not SHOP_PATTERN.match(sanitized) or sanitized != shop.strip().lower():
        raise OAuthError(f"shop {shop!r} is not a valid *.myshopify.com domain")
    return sanitized


def _signer(settings: ShopifySettings) -> type[shopify.Session]:
    # A subclass carries the secret, so the library's process-wide Session is never mutated.
    return type(
        "FollowUpSession",
        (shopify.Session,),
        {"api_key": settings.api_key, "secret": settings.api_secret},
    )


def query_params(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """Repeated `key[]` parameters become lists, the shape the HMAC rules expect."""
    params: dict[str, Any] = {}
    for key, value in pairs:
        if key.endswith("[]"):
            params.setdefault(key, []).append(value)
        else:
            params[key] = value
    return params


def verify_query(params: Mapping[str, Any], now: float | None = None) -> str:
    """Check HMAC, shop and timestamp of a request Shopify signed; return the shop domain."""
    settings = get_settings().shopify
    if not settings.api_secret:
        raise OAuthError("FOLLOWUP_SHOPIFY_API_SECRET is not configured")
    shop = valid_shop(params.get("shop"))
    signed = {k: v for k, v in params.items() if k != "signature"}
    if not params.get("hmac") or not _signer(settings).validate_hmac(signed):
        raise BadSignature("the query's hmac does not match: the request was not signed by Shopify")
    try:
        timestamp = int(params.get("timestamp", ""))
    except ValueError:
        raise OAuthError("timestamp is missing or not a number") from None
    if abs((now or time.time()) - timestamp) > MAX_QUERY_AGE_SECONDS:
        raise OAuthError("timestamp is stale: start the install again from Shopify")
    return shop


def admin_origin(shop: str) -> str:
    """`https://{shop}`, or the configured override (a proxy, or the fake Shopify in tests)."""
    base = get_settings().shopify.admin_base_url
    return base.rstrip("/") if base else f"https://{shop}"


def permission_url(shop: str, redirect_uri: str, state: str) -> str:
    settings = get_settings().shopify
    scopes = [s.strip() for s in settings.scopes.split(",") if s.strip()]
    url = _signer(settings)(shop, settings.api_version).create_permission_url(
        scopes, redirect_uri, state
    )
    parts = urlsplit(url)
    return f"{admin_origin(shop)}{parts.path}?{parts.query}"


async def _token_request(shop: str, form: dict[str, str]) -> dict[str, Any]:
    settings = get_settings().shopify
    data = {"client_id": settings.api_key, "client_secret": settings.api_secret, **form}
    async with httpx.AsyncClient(timeout=15) as http:
        response = await http.post(
            f"{admin_origin(shop)}/admin/oauth/access_token",
            content=urlencode(data),
            headers={
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
    if response.status_code != 200:
        raise TokenRequestError(response.status_code, response.text)
    body = response.json()
    if not isinstance(body, dict) or not body.get("access_token"):
        raise TokenRequestError(response.status_code, "reply carries no access_token")
    return body


async def exchange_code(shop: str, code: str) -> dict[str, Any]:
    """Authorization-code grant, asking for an expiring offline token (required for public apps)."""
    return await _token_request(shop, {"code": code, "expiring": "1"})


async def exchange_session_token(shop: str, session_token: str) -> dict[str, Any]:
    """Token exchange: an App Bridge session token buys an offline token for a managed install."""
    return await _token_request(
        shop,
        {
            "grant_type": TOKEN_EXCHANGE,
            "subject_token": session_token,
            "subject_token_type": ID_TOKEN,
            "requested_token_type": OFFLINE_TOKEN,
            "expiring": "1",
        },
    )


async def refresh(shop: str, refresh_token: str) -> dict[str, Any]:
    return await _token_request(
        shop, {"grant_type": "refresh_token", "refresh_token": refresh_token}
    )

"""App Bridge session tokens: decode and check them, and resolve the Store an embedded request belongs to."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from litestar import Request
from litestar.datastructures import State
from shopify import session_token

from app.config import get_settings
from app.core.errors import ApiError
from app.integrations.shopify.oauth import OAuthError, valid_shop
from app.stores.models import Store, StoreStatus
from app.stores.services import store_for_shop_domain

_UNAUTHORIZED = {"WWW-Authenticate": 'Bearer realm="shopify"'}


class SessionTokenError(ValueError):
    """The session token is missing, forged, expired, or for another app or shop."""


def decode(authorization: str) -> dict[str, Any]:
    """Verify signature (HS256, app secret), `aud`, `exp`, `nbf`, and that `iss` and `dest` agree."""
    settings = get_settings().shopify
    try:
        claims = session_token.decode_from_header(
            authorization, settings.api_key, settings.api_secret
        )
    except session_token.SessionTokenError as exc:
        raise SessionTokenError(f"session token refused: {exc}") from None
    # PyJWT checks exp and nbf only when present; a token without them never expires, so refuse it.
    if "exp" not in claims or "nbf" not in claims:
        raise SessionTokenError("session token refused: exp and nbf are required")
    return claims


def shop_of(claims: dict[str, Any]) -> str:
    """`dest` is `https://{shop}`: the shop this token speaks for."""
    try:
        return valid_shop(urlsplit(str(claims.get("dest", ""))).hostname)
    except OAuthError as exc:
        raise SessionTokenError(f"session token dest: {exc}") from None


def bearer(request: Request[Any, Any, State]) -> str:
    header = request.headers.get("authorization", "")
    if not header.startswith("Bearer ") or not header[7:].strip():
        raise ApiError(
            401,
            "missing_session_token",
            "send `Authorization: Bearer <session token>`",
            _UNAUTHORIZED,
        )
    return header


async def shopify_store(request: Request[Any, Any, State]) -> Store:
    """Litestar dependency: the active Store an App Bridge request comes from, or 401.

    Use as `dependencies={"store": Provide(shopify_store)}` on any embedded-admin route.
    """
    try:
        shop = shop_of(decode(bearer(request)))
    except SessionTokenError as exc:
        raise ApiError(401, "invalid_session_token", str(exc), _UNAUTHORIZED) from None
    store = await store_for_shop_domain(shop)
    if store is None or store.status != StoreStatus.ACTIVE:
        raise ApiError(401, "not_installed", f"FollowUp is not installed on {shop}", _UNAUTHORIZED)
    return store


def frame_ancestors(shop: str) -> dict[str, str]:
    """Headers for every page the Shopify admin may frame: only that shop and the admin."""
    return {"Content-Security-Policy": f"frame-ancestors https://{shop} https://admin.shopify.com;"}

"""Shopify routes: webhook deliveries, the App URL, the OAuth callback, and the embedded entry by session token."""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlencode

import httpx
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import Provide
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.response import Redirect, Template
from litestar.status_codes import HTTP_200_OK
from litestar.types import ASGIApp

from app.accounts import sessions
from app.accounts.cookies import session_cookie
from app.accounts.services import platform_owner
from app.config import get_settings
from app.core.capture_io import JsonAnswer, plain_headers, read_body
from app.core.errors import ApiError
from app.core.logging import ctx
from app.core.security import sign_value, verify_signed_value
from app.ingest.services import accept, check_json, require_json
from app.integrations.shopify import oauth, session_tokens
from app.integrations.shopify import webhooks as shopify
from app.integrations.shopify.install import install
from app.privacy.controllers import export_document, list_exports
from app.privacy.schemas import DataExportOut
from app.stores.models import Store, StoreStatus
from app.stores.services import capture_store, store_for_shop_domain

log = logging.getLogger(__name__)
STATE_COOKIE = "followup_shopify_state"
STATE_PURPOSE = "shopify-oauth-state"
STATE_TTL = 600


def _params(request: Request[Any, Any, State]) -> dict[str, Any]:
    return oauth.query_params(list(request.query_params.multi_items()))


def _verified_shop(params: dict[str, Any]) -> str:
    try:
        return oauth.verify_query(params)
    except oauth.BadSignature as exc:
        raise ApiError(401, "bad_signature", str(exc)) from None
    except oauth.OAuthError as exc:
        raise ApiError(400, "invalid_shopify_request", str(exc)) from None


async def _dashboard(request: Request[Any, Any, State], store: Store, host: str | None) -> Redirect:
    """Land the merchant on the dashboard, signed in as the store's owner: Shopify vouched for them."""
    query = urlencode({k: v for k, v in {"shop": store.domain, "host": host}.items() if v})
    owner = await platform_owner(store, (store.settings or {}).get("shop_email"))
    token, _ = await sessions.create(request.app.state.redis, owner.id, store.id, str(owner.role))
    return Redirect(
        f"/dashboard?{query}",
        status_code=302,
        headers=session_tokens.frame_ancestors(store.domain),
        cookies=[session_cookie(token, embedded=bool(host))],
    )


def _state_cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        key=STATE_COOKIE,
        value=value,
        max_age=max_age,
        path="/shopify",
        secure=True,
        httponly=True,
        samesite="lax",
    )


def _authorize(shop: str) -> Redirect:
    nonce = secrets.token_urlsafe(24)
    signed = f"{nonce}.{sign_value(f'{nonce}.{shop}', STATE_PURPOSE)}"
    callback = f"{get_settings().server.public_url}/shopify/callback"
    return Redirect(
        oauth.permission_url(shop, callback, nonce),
        status_code=302,
        cookies=[_state_cookie(signed, STATE_TTL)],
    )


async def _consume_state(request: Request[Any, Any, State], shop: str, state: str | None) -> None:
    """The state must be the nonce in our signed cookie, for this shop, and never seen before."""
    cookie = request.cookies.get(STATE_COOKIE, "")
    nonce, _, signature = cookie.partition(".")
    if not state or not cookie:
        raise ApiError(400, "missing_state", "OAuth state or its cookie is missing: start again")
    if not (
        secrets.compare_digest(nonce, state)
        and verify_signed_value(f"{nonce}.{shop}", signature, STATE_PURPOSE)
    ):
        raise ApiError(400, "bad_state", "OAuth state does not match this browser's install")
    fresh = await request.app.state.redis.set(f"shopify:state:{nonce}", 1, nx=True, ex=STATE_TTL)
    if not fresh:
        raise ApiError(400, "replayed_state", "this install link was already used: start again")


def _unreachable(shop: str, host: str | None, exc: Exception) -> Template:
    """Shopify did not answer (refused, timed out, DNS): say so in words and offer a fresh start."""
    log.warning("shopify unreachable during install", extra=ctx(shop=shop, error=repr(exc)))
    api_key = get_settings().shopify.api_key
    return Template(
        "shopify/unreachable.html",
        context={
            "shop": shop,
            "retry_url": f"{oauth.admin_origin(shop)}/admin/apps/{api_key}",
            "embedded": bool(host),
        },
        status_code=502,
        headers=session_tokens.frame_ancestors(shop),
    )


async def _install_with(
    shop: str, host: str | None, grant: Callable[[], Awaitable[dict[str, Any]]]
) -> Store | Template:
    """Get a token grant and install with it, or the unreachable page if Shopify cannot be reached."""
    try:
        return await install(shop, await grant())
    except httpx.TransportError as exc:
        return _unreachable(shop, host, exc)


class ShopifyApp(Controller):
    path = "/shopify"
    tags = ["shopify"]
    include_in_schema = False

    @get("/install", name="shopify_install")
    async def app_url(self, request: Request[Any, Any, State]) -> Response[Any]:
        """App URL: embedded loads land on the dashboard; new shops go through OAuth."""
        params = _params(request)
        shop = _verified_shop(params)
        if params.get("id_token"):
            return await self._embedded(request, shop, str(params["id_token"]), params.get("host"))
        store = await store_for_shop_domain(shop)
        if store and store.status == StoreStatus.ACTIVE and store.credentials:
            return await _dashboard(request, store, params.get("host"))
        return _authorize(shop)

    @get("/callback", name="shopify_callback")
    async def callback(self, request: Request[Any, Any, State]) -> Response[Any]:
        params = _params(request)
        shop = _verified_shop(params)
        await _consume_state(request, shop, params.get("state"))
        if not params.get("code"):
            raise ApiError(400, "missing_code", "the callback carries no authorization code")
        try:
            store = await _install_with(
                shop, params.get("host"), lambda: oauth.exchange_code(shop, str(params["code"]))
            )
        except oauth.TokenRequestError as exc:
            log.warning("shopify code exchange failed", extra=ctx(shop=shop, error=exc))
            raise ApiError(400, "code_refused", "Shopify refused the authorization code") from None
        if isinstance(store, Template):
            return store
        response = await _dashboard(request, store, params.get("host"))
        response.cookies.append(_state_cookie("", 0))
        return response

    async def _embedded(
        self, request: Request[Any, Any, State], shop: str, id_token: str, host: str | None
    ) -> Response[Any]:
        """Managed install: the session token proves the shop, token exchange gets our offline token."""
        try:
            claims = session_tokens.decode(f"Bearer {id_token}")
            if session_tokens.shop_of(claims) != shop:
                raise session_tokens.SessionTokenError("session token is for another shop")
        except session_tokens.SessionTokenError as exc:
            raise ApiError(401, "invalid_session_token", str(exc)) from None
        store = await store_for_shop_domain(shop)
        if not (store and store.status == StoreStatus.ACTIVE and store.credentials):
            try:
                installed = await _install_with(
                    shop, host, lambda: oauth.exchange_session_token(shop, id_token)
                )
            except oauth.TokenRequestError as exc:
                raise ApiError(401, "token_exchange_refused", str(exc)) from None
            if isinstance(installed, Template):
                return installed
            store = installed
        return await _dashboard(request, store, host)


class ShopifyEmbeddedApi(Controller):
    """JSON the embedded admin calls with its App Bridge session token (`shopify_store` guard)."""

    path = "/shopify/api"
    tags = ["shopify"]
    dependencies = {"store": Provide(session_tokens.shopify_store)}

    @get("/privacy/exports", summary="Customer data exports, for the embedded admin")
    async def exports(self, store: Store) -> list[DataExportOut]:
        return await list_exports(store)

    @get("/privacy/exports/{export_id:int}", summary="One customer data export")
    async def export(self, store: Store, export_id: int) -> dict[str, Any]:
        return await export_document(store, export_id)


class ShopifyWebhooks(Controller):
    path = "/webhooks/shopify"
    tags = ["capture"]

    @post(
        ["/", "/compliance"],
        status_code=HTTP_200_OK,
        summary="Shopify webhook (all topics)",
        responses={
            HTTP_200_OK: ResponseSpec(
                data_container=dict[str, str],
                description="`accepted` (stored), `duplicate` (stored before) or `ignored` "
                "(with the `reason`: a topic or shop we hold nothing for)",
                generate_examples=False,
                examples=[Example(summary="Stored", value={"status": "accepted"})],
            )
        },
    )
    async def receive(self, request: Request[Any, Any, State]) -> ASGIApp:
        headers = plain_headers(request.scope)  # the busiest route: app.core.capture_io
        body = await read_body(request, headers)
        if not shopify.verify(body, headers, (get_settings().shopify.api_secret,)):
            raise ApiError(401, "bad_signature", "X-Shopify-Hmac-Sha256 missing or does not match")
        delivery = shopify.to_delivery(body, headers)
        if delivery.topic not in shopify.KNOWN_TOPICS:
            log.info("ignored Shopify topic", extra=ctx(topic=delivery.topic))
            return JsonAnswer(
                {"status": "ignored", "reason": f"topic {delivery.topic!r} is not handled"}
            )
        if not delivery.delivery_id:
            raise ApiError(400, "missing_delivery_id", "X-Shopify-Webhook-Id header is required")
        # Only an order is read before we answer (its keys, app.ingest.seen); the rest is checked.
        payload: Any = None
        if delivery.topic in shopify.TOPICS.orders:
            payload = require_json(body)
        else:
            check_json(body)
        store = await capture_store("shopify", headers.get(shopify.SHOP, "").strip().lower())
        if store is None:
            if delivery.topic in shopify.COMPLIANCE_TOPICS:
                return _NOTHING_HELD
            raise ApiError(404, "unknown_store", "no store is installed for this shop domain")
        stored = await accept(store, delivery, request.app.state.queue, payload)
        return _ACCEPTED if stored else _DUPLICATE


_ACCEPTED = JsonAnswer({"status": "accepted"})
_DUPLICATE = JsonAnswer({"status": "duplicate"})
_NOTHING_HELD = JsonAnswer({"status": "ignored", "reason": "no data held for this shop"})

"""Capture endpoints: verify, store raw, dedupe, enqueue, answer fast. The work happens in a job."""

from __future__ import annotations

import json
import logging
from typing import Any

from litestar import Controller, Request, Response, post, route
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from app.config import get_settings
from app.core.errors import ApiError
from app.core.logging import ctx
from app.core.ratelimit import hit
from app.ingest.services import accept
from app.integrations.collect import spec
from app.integrations.shopify import webhooks as shopify
from app.integrations.woocommerce import webhooks as woo
from app.integrations.woocommerce.controllers import require_plugin_signature, woocommerce_store
from app.stores.models import Platform, Store
from app.stores.services import capture_store

log = logging.getLogger(__name__)
OPAQUE_ORIGIN = "null"  # what a sandboxed iframe or worker sends as its Origin


def _json(body: bytes) -> Any:
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ApiError(400, "malformed_json", f"body is not valid JSON: {exc}") from None


class ShopifyWebhooks(Controller):
    path = "/webhooks/shopify"
    tags = ["capture"]

    @post(["/", "/compliance"], status_code=HTTP_200_OK, summary="Shopify webhook (all topics)")
    async def receive(self, request: Request[Any, Any, State]) -> dict[str, str]:
        body = await request.body()
        if not shopify.verify(body, request.headers, (get_settings().shopify.api_secret,)):
            raise ApiError(401, "bad_signature", "X-Shopify-Hmac-Sha256 missing or does not match")
        delivery = shopify.to_delivery(body, request.headers)
        if delivery.topic not in shopify.KNOWN_TOPICS:
            log.info("ignored Shopify topic", extra=ctx(topic=delivery.topic))
            return {"status": "ignored", "reason": f"topic {delivery.topic!r} is not handled"}
        if not delivery.delivery_id:
            raise ApiError(400, "missing_delivery_id", "X-Shopify-Webhook-Id header is required")
        _json(body)
        store = await capture_store(
            "shopify", request.headers.get(shopify.SHOP, "").strip().lower()
        )
        if store is None:
            if delivery.topic in shopify.COMPLIANCE_TOPICS:
                return {"status": "ignored", "reason": "no data held for this shop"}
            raise ApiError(404, "unknown_store", "no store is installed for this shop domain")
        stored = await accept(store, delivery, request.app.state.queue)
        return {"status": "accepted" if stored else "duplicate"}


class WooCommerceWebhooks(Controller):
    path = "/webhooks/woocommerce"
    tags = ["capture"]

    @post("/{store_id:int}", status_code=HTTP_200_OK, summary="WooCommerce webhook or plugin event")
    async def receive(self, request: Request[Any, Any, State], store_id: int) -> Response[Any]:
        store = await woocommerce_store(store_id)
        body = await request.body()
        if woo.is_ping(body, request.headers):
            return Response({"status": "ok"}, status_code=HTTP_200_OK)
        if woo.is_plugin(request.headers):
            require_plugin_signature(store, body, request.headers)
            delivery = woo.plugin_delivery(body, request.headers)
        else:
            problem = woo.native_problem(store.webhook_secret or "", body, request.headers)
            if problem:
                raise ApiError(401, "bad_signature", problem)
            delivery = woo.native_delivery(body, request.headers)
        _json(body)
        if delivery.topic == "connection.test":
            return Response({"status": "ok", "store": store.name}, status_code=HTTP_200_OK)
        stored = await accept(store, delivery, request.app.state.queue)
        return Response({"status": "accepted" if stored else "duplicate"}, status_code=HTTP_200_OK)


class CollectEvents(Controller):
    path = "/collect/v1/events"
    tags = ["capture"]

    @post(
        "/", status_code=HTTP_202_ACCEPTED, summary="Segment-spec events from browsers and servers"
    )
    async def receive(self, request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
        origin = request.headers.get("origin")
        try:
            return await self._receive(request, origin)
        except ApiError as exc:  # let the page read why, so the snippet can say it in the console
            exc.headers = {**(exc.headers or {}), **_cors(origin)}
            raise

    async def _receive(
        self, request: Request[Any, Any, State], origin: str | None
    ) -> Response[dict[str, Any]]:
        body = await request.body()
        document = _json(body)
        store = await _store_for_key(request, document)
        if origin and not _origin_allowed(store, origin):
            raise ApiError(
                403, "origin_not_allowed", f"origin {origin} is not one of this store's sites"
            )
        await _rate_limit(request, store)
        try:
            events = spec.parse(document)
        except spec.SpecError as exc:
            raise ApiError(400, "invalid_event", str(exc)) from None
        context = {
            "user_agent": request.headers.get("user-agent", "")[:512],
            "ip": request.client.host if request.client else "",
        }
        accepted = ignored = 0
        for event in events:
            if not spec.is_tracked(event):
                ignored += 1
                continue
            if await accept(store, spec.to_delivery(event, context), request.app.state.queue):
                accepted += 1
        return Response(
            {
                "accepted": accepted,
                "ignored": ignored,
                "duplicates": len(events) - accepted - ignored,
            },
            status_code=HTTP_202_ACCEPTED,
            headers=_cors(origin),
        )

    @route("/", http_method="OPTIONS", status_code=HTTP_204_NO_CONTENT, include_in_schema=False)
    async def preflight(self, request: Request[Any, Any, State]) -> Response[None]:
        origin = request.headers.get("origin")
        key = request.query_params.get("key")
        store = await capture_store("collect", key[:64]) if key else None
        if not origin or store is None or not _origin_allowed(store, origin):
            return Response(None, status_code=HTTP_204_NO_CONTENT)
        headers = _cors(origin) | {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, X-FollowUp-Key",
            "Access-Control-Max-Age": "600",
        }
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers=headers)


async def _store_for_key(request: Request[Any, Any, State], document: Any) -> Store:
    key = (
        request.query_params.get("key")
        or request.headers.get("x-followup-key")
        or (document.get("writeKey") if isinstance(document, dict) else None)
    )
    if not key:
        raise ApiError(
            401,
            "missing_key",
            "send the store's publishable key as ?key=, X-FollowUp-Key or writeKey",
        )
    store = await capture_store("collect", str(key)[:64])
    if store is None:
        raise ApiError(404, "unknown_store", "no store has this publishable key")
    return store


def _origin_allowed(store: Store, origin: str) -> bool:
    allowed = store.origins()
    if origin == OPAQUE_ORIGIN:
        # Shopify runs app pixels in its strict sandbox, a web worker with an opaque origin, so
        # every pixel event says `Origin: null`. Only Shopify stores (or a store that lists "null")
        # accept it; the publishable key still picks the store. See docs/collect-origins.md.
        return store.platform == Platform.SHOPIFY or bool({OPAQUE_ORIGIN, "*"} & allowed)
    return "*" in (store.allowed_origins or []) or origin.rstrip("/") in allowed


def _cors(origin: str | None) -> dict[str, str]:
    return {"Access-Control-Allow-Origin": origin, "Vary": "Origin"} if origin else {}


async def _rate_limit(request: Request[Any, Any, State], store: Store) -> None:
    ip = request.client.host if request.client else "-"
    limit = get_settings().capture.collect_rate_per_minute
    retry_after = await hit(
        request.app.state.redis, f"collect:{store.publishable_key}:{ip}", limit, 60
    )
    if retry_after:
        raise ApiError(
            429,
            "rate_limited",
            f"more than {limit} events a minute from this address",
            headers={"Retry-After": str(retry_after)},
        )

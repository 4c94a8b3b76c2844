"""Segment-spec capture routes: /collect/v1/events for the snippet and pixel, /v1 for Segment's libraries.

Verify the key and origin, rate-limit, store each event once, answer fast; the work happens in a job.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from litestar import Controller, Request, Response, post, route
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_200_OK, HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from app.config import get_settings
from app.core.errors import ApiError, http_error_response
from app.core.ratelimit import hit
from app.ingest.services import accept, require_json
from app.integrations.collect import spec
from app.stores.models import Platform, Store
from app.stores.services import capture_store

log = logging.getLogger(__name__)
OPAQUE_ORIGIN = "null"  # what a sandboxed iframe or worker sends as its Origin


class CollectEvents(Controller):
    path = "/collect/v1/events"
    tags = ["capture"]

    @post(
        "/", status_code=HTTP_202_ACCEPTED, summary="Segment-spec events from browsers and servers"
    )
    async def receive(self, request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
        origin = request.headers.get("origin")
        try:
            counts, headers = await _collect(request, spec.parse)
        except ApiError as exc:  # let the page read why, so the snippet can say it in the console
            exc.headers = {**(exc.headers or {}), **_cors(origin)}
            raise
        return Response(counts, status_code=HTTP_202_ACCEPTED, headers=headers)

    @route("/", http_method="OPTIONS", status_code=HTTP_204_NO_CONTENT, include_in_schema=False)
    async def preflight(self, request: Request[Any, Any, State]) -> Response[None]:
        origin = request.headers.get("origin")
        key = request.query_params.get("key")
        store = await capture_store("collect", key[:64]) if key else None
        if not origin or store is None or not _origin_allowed(store, origin):
            return Response(None, status_code=HTTP_204_NO_CONTENT)
        headers = _cors(origin) | {
            "Access-Control-Allow-Methods": "POST, OPTIONS",
            "Access-Control-Allow-Headers": "Content-Type, Content-Encoding, X-FollowUp-Key",
            "Access-Control-Max-Age": "600",
        }
        return Response(None, status_code=HTTP_204_NO_CONTENT, headers=headers)


def _segment_error(request: Request[Any, Any, State], exc: HTTPException) -> Response[Any]:
    """Segment's libraries read `code` and `message` from an error body; ours says it twice."""
    response = http_error_response(request, exc)
    body = dict(response.content)
    body |= {"code": body["error"], "message": body["detail"]}
    return Response(body, status_code=response.status_code, headers=response.headers)


class SegmentApi(Controller):
    """Segment's HTTP Tracking API, so Segment's own libraries (host + write key = the store's
    publishable key) deliver here: same checks, limits and storage as /collect/v1/events."""

    path = "/v1"
    tags = ["capture"]
    exception_handlers = {HTTPException: _segment_error}

    @post(
        "/batch", status_code=HTTP_200_OK, summary="Segment batch (Segment's libraries post here)"
    )
    async def batch(self, request: Request[Any, Any, State]) -> dict[str, Any]:
        counts, _ = await _collect(request, spec.parse)
        return {"success": True, **counts}

    @post(
        ["/track", "/identify", "/page", "/screen", "/group", "/alias"],
        status_code=HTTP_200_OK,
        summary="One Segment call; the path names its type",
    )
    async def call(self, request: Request[Any, Any, State]) -> dict[str, Any]:
        kind = request.url.path.rstrip("/").rsplit("/", 1)[-1]
        counts, _ = await _collect(request, lambda doc: [spec.parse_call(doc, kind)])
        return {"success": True, **counts}


async def _collect(
    request: Request[Any, Any, State], parse: Callable[[Any], list[dict[str, Any]]]
) -> tuple[dict[str, int], dict[str, str]]:
    """Verify the key and origin, rate-limit, check every event, then store each once."""
    document = require_json(await _body(request))
    store = await _store_for_key(request, document)
    origin = request.headers.get("origin")
    if origin and not _origin_allowed(store, origin):
        raise ApiError(
            403, "origin_not_allowed", f"origin {origin} is not one of this store's sites"
        )
    await _rate_limit(request, store)
    try:
        events = parse(document)
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
    counts = {
        "accepted": accepted,
        "ignored": ignored,
        "duplicates": len(events) - accepted - ignored,
    }
    return counts, _cors(origin)


async def _body(request: Request[Any, Any, State]) -> bytes:
    """The raw body (its size is capped by the server), inflated within the same cap."""
    limit = get_settings().server.max_body_bytes
    encoding = request.headers.get("content-encoding", "")
    try:
        return spec.decompress(await request.body(), encoding, limit)
    except spec.TooLarge as exc:
        raise ApiError(413, "payload_too_large", str(exc)) from None
    except spec.UnsupportedEncoding as exc:
        raise ApiError(415, "unsupported_encoding", str(exc)) from None
    except spec.SpecError as exc:
        raise ApiError(400, "bad_encoding", str(exc)) from None


async def _store_for_key(request: Request[Any, Any, State], document: Any) -> Store:
    key = (
        request.query_params.get("key")
        or request.headers.get("x-followup-key")
        or spec.basic_auth_key(request.headers)
        or (document.get("writeKey") if isinstance(document, dict) else None)
    )
    if not key:
        raise ApiError(
            401,
            "missing_key",
            "send the store's publishable key as ?key=, X-FollowUp-Key, Basic auth user or writeKey",
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

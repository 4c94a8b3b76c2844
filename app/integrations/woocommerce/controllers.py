"""WooCommerce routes: native webhooks and plugin events (one URL), and the plugin's signed restore lookup."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK

from app.core.errors import ApiError
from app.ingest.services import accept, require_json
from app.integrations.woocommerce import webhooks as woo
from app.integrations.woocommerce.coupons import remember_site
from app.integrations.woocommerce.restore import RESTORE_EVENT, RestoreRefused, restore_view
from app.stores.models import Store
from app.stores.services import capture_store


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
        payload = require_json(body)
        if delivery.topic == "connection.test":
            await remember_site(store, payload)
            return Response({"status": "ok", "store": store.name}, status_code=HTTP_200_OK)
        stored = await accept(store, delivery, request.app.state.queue, payload)
        return Response({"status": "accepted" if stored else "duplicate"}, status_code=HTTP_200_OK)


class WooCommercePluginApi(Controller):
    path = "/plugin/woocommerce"
    tags = ["capture"]

    @post("/{store_id:int}/restore", status_code=HTTP_200_OK, summary="Cart behind a restore token")
    async def restore(self, request: Request[Any, Any, State], store_id: int) -> dict[str, Any]:
        store = await woocommerce_store(store_id)
        body = await request.body()
        require_plugin_signature(store, body, request.headers)
        if request.headers.get(woo.PLUGIN_EVENT) != RESTORE_EVENT:
            raise ApiError(400, "wrong_event", f"X-FollowUp-Event must be {RESTORE_EVENT}")
        try:
            token = json.loads(body).get("token")
        except (ValueError, AttributeError):
            token = None
        if not isinstance(token, str) or not token:
            raise ApiError(400, "missing_token", 'body must be {"token": "<restore token>"}')
        try:
            return await restore_view(store, token)
        except RestoreRefused as refused:
            raise ApiError(refused.status, refused.code, refused.reason) from None


async def woocommerce_store(store_id: int) -> Store:
    """The store a webhook or plugin call names in its path (the capture path's cached lookup)."""
    store = await capture_store("woocommerce", store_id)
    if store is None:
        raise ApiError(404, "unknown_store", f"no WooCommerce store with id {store_id}")
    return store


def require_plugin_signature(store: Store, body: bytes, headers: Mapping[str, str]) -> None:
    """Our plugin signs every call with the store's webhook secret and a fresh timestamp."""
    problem = woo.plugin_problem(store.webhook_secret or "", body, headers)
    if problem:
        raise ApiError(401, "bad_signature", problem)

"""The Magento module's webhook: verify, store raw, dedupe, enqueue, answer fast."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.status_codes import HTTP_200_OK

from app.core.errors import ApiError
from app.ingest.services import accept, require_json
from app.integrations.magento import webhooks
from app.stores.models import Store
from app.stores.services import capture_store


async def magento_store(store_id: int) -> Store:
    """The store a delivery names in its path (the capture path's cached lookup)."""
    store = await capture_store("magento", store_id)
    if store is None:
        raise ApiError(404, "unknown_store", f"no Magento store with id {store_id}")
    return store


class MagentoWebhooks(Controller):
    path = "/webhooks/magento"
    tags = ["capture"]

    @post("/{store_id:int}", status_code=HTTP_200_OK, summary="Magento module event")
    async def receive(self, request: Request[Any, Any, State], store_id: int) -> dict[str, str]:
        store = await magento_store(store_id)
        body = await request.body()
        problem = webhooks.problem(store.webhook_secret or "", body, request.headers)
        if problem:
            raise ApiError(401, "bad_signature", problem)
        event = webhooks.event_of(request.headers)
        if event not in webhooks.EVENTS:
            known = ", ".join(sorted(webhooks.EVENTS))
            raise ApiError(400, "unknown_event", f"X-FollowUp-Event must be one of {known}")
        document = require_json(body)
        if not isinstance(document, dict):
            raise ApiError(400, "malformed_json", "body must be a JSON object")
        stored = await accept(
            store, webhooks.delivery(body, request.headers), request.app.state.queue, document
        )
        return {"status": "accepted" if stored else "duplicate"}

"""REST hooks: subscribe a target URL to an event, unsubscribe, and fetch sample payloads."""

from __future__ import annotations

from typing import Any

from litestar import Controller, delete, get, post
from litestar.di import Provide

from app.core.errors import ApiError
from app.hooks import payloads, services
from app.hooks.models import SubscriptionSource
from app.hooks.schemas import HookIn, HookOut
from app.stores.auth import api_store
from app.stores.models import Store


def _known(event: str) -> str:
    if event not in payloads.WEBHOOK_EVENTS:
        raise ApiError(
            404,
            "unknown_event",
            f"no event {event!r}; one of: {', '.join(payloads.WEBHOOK_EVENTS)}",
        )
    return event


class HooksApi(Controller):
    path = "/api/v1/hooks"
    tags = ["hooks"]
    dependencies = {"store": Provide(api_store)}

    @post("/", summary="Subscribe a target URL to one event (REST hook)", status_code=201)
    async def subscribe(self, store: Store, data: HookIn) -> HookOut:
        try:
            sub = await services.subscribe(
                store.id, data.target_url, [data.event], SubscriptionSource.REST
            )
        except services.HookError as exc:
            raise ApiError(422, "invalid_hook", str(exc)) from None
        return HookOut(sub.id, sub.target_url, data.event, sub.secret, sub.created_at)

    @delete("/{hook_id:int}", summary="Unsubscribe (REST hook)", status_code=204)
    async def unsubscribe(self, store: Store, hook_id: int) -> None:
        if not await services.unsubscribe(store.id, hook_id):
            raise ApiError(404, "not_found", f"no hook {hook_id} in this store")

    @get("/samples/{event:str}", summary="Recent real payloads of an event, for a zap editor")
    async def samples(self, store: Store, event: str) -> list[dict[str, Any]]:
        """Newest first, the same JSON a delivery carries; empty until the event has happened."""
        return await services.samples(store.id, _known(event))

"""The settings page's Integrations section and its forms: webhook subscriptions, their delivery
log with "send again", and the Segment write key (rendered by pages/settings/_integrations.html)."""

from __future__ import annotations

import json
from typing import Any

from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Redirect

from app.core.errors import ApiError
from app.hooks import payloads, services
from app.hooks.models import HookAttempt, HookDelivery, HookSubscription, SubscriptionSource
from app.integrations.segment.forward import set_write_key
from app.integrations.segment.models import SegmentDestination
from app.stores.models import Store
from app.web.access import Access, manager_access

LOG_SIZE = 20
SECTION = "/settings?hooks=saved#integrations"


async def section(store: Store, **extra: Any) -> dict[str, Any]:
    """What pages/settings/_integrations.html shows: each subscription with its last
    deliveries (payload, status, timing) and whether a Segment write key is set."""
    subscriptions = await HookSubscription.filter(store_id=store.id).order_by("-id")
    rows = []
    for sub in subscriptions:
        deliveries = (
            await HookDelivery.filter(subscription_id=sub.id).order_by("-id").limit(LOG_SIZE)
        )
        attempts = await _attempts([d.id for d in deliveries])
        log = [
            {
                "delivery": d,
                "payload": json.dumps(d.payload, indent=2, sort_keys=True),
                "attempts": attempts.get(d.id, []),
            }
            for d in deliveries
        ]
        rows.append({"subscription": sub, "log": log})
    return {
        "hooks": rows,
        "hook_events": payloads.WEBHOOK_EVENTS,
        "segment_set": await SegmentDestination.exists(store_id=store.id),
        **extra,
    }


async def _attempts(delivery_ids: list[int]) -> dict[int, list[HookAttempt]]:
    found: dict[int, list[HookAttempt]] = {}
    for attempt in await HookAttempt.filter(delivery_id__in=delivery_ids).order_by("at"):
        found.setdefault(attempt.delivery_id, []).append(attempt)
    return found


async def _form(request: Request[Any, Any, State]) -> dict[str, Any]:
    form = await request.form()
    return {k: form.getall(k) if k == "events" else str(v) for k, v in form.items()}


class IntegrationSettings(Controller):
    """Forms of the Integrations section; each answers with a redirect back to it."""

    include_in_schema = False
    dependencies = {"access": Provide(manager_access)}

    @post("/settings/hooks")
    async def add(self, request: Request[Any, Any, State], access: Access) -> Redirect:
        form = await _form(request)
        try:
            await services.subscribe(
                access.store.id,
                str(form.get("target_url", "")),
                [str(e) for e in form.get("events") or []],
                SubscriptionSource.SETTINGS,
            )
        except services.HookError as exc:
            raise ApiError(422, "invalid_hook", str(exc)) from None
        return Redirect(SECTION, status_code=303)

    @post("/settings/hooks/{hook_id:int}/delete")
    async def remove(self, access: Access, hook_id: int) -> Redirect:
        if not await services.unsubscribe(access.store.id, hook_id):
            raise ApiError(404, "not_found", "no such webhook in this store")
        return Redirect(SECTION, status_code=303)

    @post("/settings/hooks/deliveries/{delivery_id:int}/resend")
    async def resend(
        self, request: Request[Any, Any, State], access: Access, delivery_id: int
    ) -> Redirect:
        queue = getattr(request.app.state, "queue", None)
        if not await services.send_again(access.store.id, delivery_id, queue):
            raise ApiError(404, "not_found", "no such delivery in this store")
        return Redirect(SECTION, status_code=303)

    @post("/settings/segment")
    async def segment(self, request: Request[Any, Any, State], access: Access) -> Redirect:
        form = await _form(request)
        try:
            await set_write_key(access.store.id, str(form.get("write_key", "")))
        except ValueError as exc:
            raise ApiError(422, "invalid_write_key", str(exc)) from None
        return Redirect(SECTION, status_code=303)

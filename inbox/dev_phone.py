"""The dev-only shopper phone (`/dev/phone`): texts the store through the same inbound service as Twilio."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.response import Template

from app.config import get_settings
from app.core.errors import ApiError
from app.messaging.models import Message
from app.stores.models import Store
from inbox.inbound import receive_sms
from inbox.schemas import InboundSms, message_json


class DevPhone(Controller):
    """Mounted only in dev mode: a shopper's phone, through the same inbound service as Twilio."""

    path = "/dev/phone"
    include_in_schema = False

    @get("/")
    async def page(self) -> Template:
        stores = await Store.exclude(sms_number=None).order_by("id")
        return Template("inbox/dev_phone.html", context={"stores": stores})

    @post("/send")
    async def send(self, request: Request[Any, Any, State]) -> dict[str, Any]:
        data = await request.json()
        if not isinstance(data, dict):
            raise ApiError(400, "bad_body", "send a JSON object")
        store = await Store.get_or_none(id=int(data.get("store_id", 0)))
        if store is None or not store.sms_number:
            raise ApiError(404, "unknown_store", "pick a store with an SMS number")
        sms = InboundSms(
            message_sid="SMdev" + secrets.token_hex(15),
            from_=str(data.get("from", ""))[:20],
            to=store.sms_number,
            body=str(data.get("body", ""))[:1600],
            media_urls=tuple(
                u for u in [str(data.get("media_url") or "")] if u.startswith("https://")
            ),
        )
        result = await receive_sms(
            sms, get_settings(), request.app.state.redis, request.app.state.queue
        )
        return {"message_id": result.message_id, "reply": result.reply}

    @get("/messages")
    async def messages(self, number: str, store_id: int) -> dict[str, Any]:
        """Both directions for one phone: what the shopper sent and what the store texted back."""
        rows = (
            await Message.filter(store_id=store_id, channel="sms")
            .filter(to_address=number)
            .exclude(author="note")
            .order_by("id")
            .limit(200)
        )
        inbound = (
            await Message.filter(store_id=store_id, from_address=number, direction="inbound")
            .order_by("id")
            .limit(200)
        )
        merged = sorted([*rows, *inbound], key=lambda m: m.id)
        return {"messages": [message_json(m) for m in merged]}

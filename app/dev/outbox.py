"""`followup dev` only: the local outbox, where messages land when no real provider is configured."""

from __future__ import annotations

from litestar import Controller, get
from litestar.response import Template

from app.messaging.models import Message


class DevOutbox(Controller):
    path = "/dev/outbox"
    include_in_schema = False

    @get("/")
    async def outbox(self) -> Template:
        messages = await Message.filter(provider="outbox").order_by("-id").limit(100)
        return Template("dev/outbox.html", context={"messages": messages})

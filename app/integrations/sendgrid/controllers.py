"""SendGrid's Inbound Parse route: verified by its secret, handed to the inbox, answered 200.

Stored before the answer (the inbox's Message-ID key makes a redelivery a duplicate); an email
for no valid reply address is dropped with a 200 as well, so SendGrid does not retry it for days.
"""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, post
from litestar.datastructures import State

from app.config import get_settings
from app.core.errors import ApiError
from app.integrations.sendgrid import inbound
from inbox.inbound_email import receive_email

# SendGrid's own ceiling is 30 MB; FOLLOWUP_INBOUND_EMAIL_MAX_BYTES decides below it.
ROUTE_MAX_BYTES = 32 * 1024 * 1024


class SendGridInbound(Controller):
    path = "/webhooks/sendgrid/inbound"

    @post(
        ["/", "/{secret:str}"],
        status_code=200,
        tags=["inbox"],
        summary="SendGrid Inbound Parse (secret in the path or as the basic-auth password)",
        request_max_body_size=ROUTE_MAX_BYTES,
    )
    async def receive(
        self, request: Request[Any, Any, State], secret: str | None = None
    ) -> dict[str, Any]:
        settings = get_settings()
        if not inbound.verify(
            settings.inbound_mail.sendgrid_secret, secret, request.headers.get("authorization")
        ):
            raise ApiError(401, "bad_secret", "Inbound Parse secret missing or does not match")
        limit = settings.inbound_mail.max_bytes
        size = int(request.headers.get("content-length") or 0)
        if size > limit:
            raise ApiError(413, "too_large", f"inbound emails are limited to {limit} bytes")
        form = await request.form()
        mail = inbound.to_inbound(form, size, settings.inbound_mail.max_attachments)
        state = request.app.state
        result = await receive_email(mail, settings, state.redis, state.queue)
        return {"status": str(result.outcome), "message_id": result.message_id}

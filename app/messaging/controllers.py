"""Provider callbacks about messages we sent: verified before anything is read or stored."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, post

from app.config import get_settings
from app.core.errors import ApiError
from app.integrations.twilio import status as twilio_status
from app.integrations.twilio.form import first_values, multi_dict
from app.integrations.twilio.signature import public_request_url, verify
from app.messaging.services import apply_report


class TwilioStatusWebhook(Controller):
    path = "/webhooks/twilio"
    include_in_schema = False

    @post("/status", status_code=204, media_type=MediaType.TEXT)
    async def status(self, request: Request[Any, Any, Any]) -> Response[None]:
        settings = get_settings()
        form = multi_dict(await request.form())
        url = public_request_url(settings.server.public_url, request.scope)
        if not verify(
            settings.twilio.auth_token, url, form, request.headers.get("x-twilio-signature")
        ):
            raise ApiError(401, "bad_signature", "X-Twilio-Signature missing or does not match")
        report = twilio_status.parse(first_values(form), dict(request.query_params))
        if report is None:
            raise ApiError(400, "bad_request", "MessageSid is required")
        await apply_report(report)
        return Response(None, status_code=204)

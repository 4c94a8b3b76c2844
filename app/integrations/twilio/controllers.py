"""Twilio's webhook routes: inbound texts and status callbacks, verified before anything is read."""

from __future__ import annotations

from typing import Any

from litestar import Controller, MediaType, Request, Response, post
from litestar.datastructures import State
from twilio.twiml.messaging_response import MessagingResponse

from app.config import get_settings
from app.core.errors import ApiError
from app.integrations.twilio import status as twilio_status
from app.integrations.twilio import webhooks
from app.integrations.twilio.form import Form, first_values, multi_dict
from app.messaging.services import apply_report
from inbox.inbound import receive_sms


def twiml(reply: str | None) -> Response[str]:
    response = MessagingResponse()
    if reply:
        response.message(reply)
    return Response(str(response), media_type="text/xml", status_code=200)


async def _verified_form(request: Request[Any, Any, State]) -> Form:
    settings = get_settings()
    form = multi_dict(await request.form())
    public_url, token = settings.server.public_url, settings.twilio.auth_token
    if not webhooks.verify(token, public_url, request.scope, form, request.headers):
        raise ApiError(401, "bad_signature", "X-Twilio-Signature missing or does not match")
    return form


class TwilioWebhooks(Controller):
    path = "/webhooks/twilio"

    @post("/sms", tags=["inbox"], summary="Twilio inbound SMS/MMS (verified by X-Twilio-Signature)")
    async def receive(self, request: Request[Any, Any, State]) -> Response[str]:
        """Verify, store once, answer TwiML: the message is committed before Twilio hears back."""
        sms = webhooks.to_inbound(await _verified_form(request))
        state = request.app.state
        result = await receive_sms(sms, get_settings(), state.redis, state.queue)
        return twiml(result.reply)

    @post("/status", status_code=204, media_type=MediaType.TEXT, include_in_schema=False)
    async def status(self, request: Request[Any, Any, State]) -> Response[None]:
        """A delivery report for a message we sent: its state only moves forward."""
        form = await _verified_form(request)
        report = twilio_status.parse(first_values(form), dict(request.query_params))
        if report is None:
            raise ApiError(400, "bad_request", "MessageSid is required")
        await apply_report(report)
        return Response(None, status_code=204)

"""Twilio SMS sender: the official client over our async transport, errors sorted into retry or never."""

from __future__ import annotations

import logging

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from app.config import TwilioSettings
from app.integrations.twilio.http import HttpxTwilioClient
from app.integrations.twilio.status import STATUS
from app.messaging.models import DeliveryStatus
from app.messaging.segments import count_segments
from app.messaging.senders import OutboundSms, SendError, SendResult

log = logging.getLogger(__name__)

# Errors that will fail again whatever we do: record them on the contact and never retry.
PERMANENT_CODES = frozenset(
    {
        21211,  # invalid To number
        21408,  # region not enabled
        21610,  # recipient replied STOP: opted out
        21612,  # To not reachable from this From
        21614,  # To is not a mobile number
        21606,  # From is not a valid SMS-capable number for this account
        21660,  # From does not belong to the account
    }
)


class TwilioSmsSender:
    name = "twilio"

    def __init__(self, settings: TwilioSettings, timeout: float = 10.0) -> None:
        self._http = HttpxTwilioClient(settings.api_base_url, timeout=timeout)
        self._client = Client(settings.account_sid, settings.auth_token, http_client=self._http)

    async def send_sms(self, message: OutboundSms) -> SendResult:
        params: dict[str, object] = {"to": message.to, "from_": message.from_, "body": message.body}
        if message.status_callback:
            params["status_callback"] = message.status_callback
        if message.media_urls:
            params["media_url"] = list(message.media_urls)
        try:
            created = await self._client.messages.create_async(**params)  # type: ignore[arg-type]
        except TwilioRestException as exc:
            permanent = exc.code in PERMANENT_CODES or (
                exc.status == 400 and exc.code is not None and exc.code not in (20429,)
            )
            raise SendError(
                str(exc.code or exc.status), exc.msg or str(exc), permanent=permanent
            ) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise SendError("network", f"Twilio unreachable: {exc}", permanent=False) from exc
        except httpx.HTTPError as exc:  # the request may have been received: never resend blindly
            raise SendError(
                "timeout", f"no answer from Twilio: {exc!r}", permanent=False, ambiguous=True
            ) from exc
        segments = int(created.num_segments or 0) or count_segments(message.body).segments
        return SendResult(
            "twilio", created.sid, STATUS.get(str(created.status), DeliveryStatus.QUEUED), segments
        )

    async def close(self) -> None:
        await self._http.close()

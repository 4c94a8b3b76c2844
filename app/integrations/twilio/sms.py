"""Twilio SMS sender: the official client over our async transport, errors sorted into retry or never."""

from __future__ import annotations

import logging

import httpx
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from app.config import Settings, TwilioSettings
from app.integrations.twilio.codes import STATUS, contact_flag, is_permanent
from app.integrations.twilio.http import HttpxTwilioClient
from app.messaging.models import DeliveryStatus
from app.messaging.segments import count_segments
from app.messaging.senders import OutboundSms, SendError, SendResult

log = logging.getLogger(__name__)


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
            created = await self._client.messages.create_async(**params)
        except TwilioRestException as exc:
            code = str(exc.code or exc.status)
            raise SendError(
                code,
                exc.msg or str(exc),
                permanent=is_permanent(exc.code, exc.status),
                contact_flag=contact_flag(code),
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


def from_settings(settings: Settings) -> TwilioSmsSender | None:
    """The SMS provider when Twilio's credentials are set."""
    if not (settings.twilio.account_sid and settings.twilio.auth_token):
        return None
    return TwilioSmsSender(settings.twilio, settings.recovery.provider_timeout_seconds)

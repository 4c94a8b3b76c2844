"""An httpx transport for the official twilio client, so it runs async and can target a fake API."""

from __future__ import annotations

import logging
from typing import Any

import httpx
from twilio.http import AsyncHttpClient
from twilio.http.response import Response

TWILIO_API = "https://api.twilio.com"
log = logging.getLogger("twilio.http_client")


class HttpxTwilioClient(AsyncHttpClient):
    """Sends the requests the twilio SDK builds; `base_url` redirects them (tests, proxies)."""

    def __init__(self, base_url: str | None = None, timeout: float = 10.0) -> None:
        super().__init__(log, True, timeout)
        self.base_url = (base_url or TWILIO_API).rstrip("/")
        self._client = httpx.AsyncClient(timeout=timeout)

    async def request(
        self,
        method: str,
        uri: str,
        params: dict[str, Any] | None = None,
        data: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        auth: tuple[str, str] | None = None,
        timeout: float | None = None,  # noqa: ASYNC109 (the twilio SDK passes it)
        allow_redirects: bool = False,
    ) -> Response:
        url = uri.replace(TWILIO_API, self.base_url, 1) if uri.startswith(TWILIO_API) else uri
        response = await self._client.request(
            method.upper(),
            url,
            params=params,
            data=data,
            headers=headers,
            auth=auth,
            timeout=timeout or self.timeout,
            follow_redirects=allow_redirects,
        )
        return Response(response.status_code, response.text, response.headers)

    async def close(self) -> None:
        await self._client.aclose()

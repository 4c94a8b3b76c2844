"""A fake Twilio REST API on loopback: the Messages resource as the real client library calls it."""

from __future__ import annotations

import asyncio
import base64
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post

from app.messaging.segments import count_segments
from tests.fakes.server import LoopbackServer


@dataclass
class FakeTwilio:
    account_sid: str = "AC00000000000000000000000000000000"
    auth_token: str = "test_auth_token_do_not_use"
    sent: list[dict[str, Any]] = field(default_factory=list)
    opted_out: set[str] = field(default_factory=set)
    fail_next: list[int] = field(default_factory=list)
    """HTTP statuses to answer with before succeeding again (e.g. [500] for one transient failure)."""
    server: LoopbackServer | None = None
    delay: float = 0.0
    """Seconds to hold each answer after recording the send (a slow or hanging provider)."""

    def app(self) -> Litestar:
        fake = self

        @post("/2010-04-01/Accounts/{sid:str}/Messages.json", status_code=201)
        async def create_message(
            request: Request[Any, Any, Any], sid: str
        ) -> Response[dict[str, Any]]:
            expected = base64.b64encode(f"{fake.account_sid}:{fake.auth_token}".encode()).decode()
            if (
                request.headers.get("authorization") != f"Basic {expected}"
                or sid != fake.account_sid
            ):
                return _error(401, 20003, "Authenticate")
            if fake.fail_next:
                return _error(fake.fail_next.pop(0), 20500, "Internal Server Error")
            form = dict(await request.form())
            to, body = str(form.get("To", "")), str(form.get("Body", ""))
            if not to.startswith("+") or not to[1:].isdigit():
                return _error(400, 21211, f"The 'To' number {to} is not a valid phone number.")
            if to in fake.opted_out:
                return _error(400, 21610, "Attempt to send to unsubscribed recipient")
            if not form.get("From") and not form.get("MessagingServiceSid"):
                return _error(400, 21603, "A 'From' or 'MessagingServiceSid' parameter is required")
            sid_out = "SM" + uuid.uuid4().hex
            record = {
                "sid": sid_out,
                "to": to,
                "from": form.get("From"),
                "body": body,
                "status_callback": form.get("StatusCallback"),
                "media_url": request.url.query_params.getall("MediaUrl", [])
                or form.get("MediaUrl"),
                "received_at": time.time(),
            }
            fake.sent.append(record)
            if fake.delay:
                await asyncio.sleep(fake.delay)
            return Response(_message_json(fake.account_sid, record, body), status_code=201)

        return Litestar([create_message], debug=False)

    async def start(self) -> FakeTwilio:
        self.server = await LoopbackServer(self.app()).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def stop(self) -> None:
        if self.server:
            await self.server.stop()


def _message_json(account_sid: str, record: dict[str, Any], body: str) -> dict[str, Any]:
    return {
        "account_sid": account_sid,
        "api_version": "2010-04-01",
        "body": body,
        "date_created": "Thu, 08 Jan 2026 18:41:07 +0000",
        "date_sent": None,
        "date_updated": None,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": record["from"],
        "messaging_service_sid": None,
        "num_media": "0",
        "num_segments": str(count_segments(body).segments),
        "price": None,
        "price_unit": "USD",
        "sid": record["sid"],
        "status": "queued",
        "subresource_uris": {},
        "to": record["to"],
        "uri": f"/2010-04-01/Accounts/{account_sid}/Messages/{record['sid']}.json",
    }


def _error(status: int, code: int, message: str) -> Response[dict[str, Any]]:
    return Response(
        {
            "code": code,
            "message": message,
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        status_code=status,
    )

"""A fake SendGrid v3 Mail Send endpoint on loopback: checks the key and the body, records mail."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from litestar import Litestar, Request, Response, post

from tests.fakes.server import LoopbackServer


@dataclass
class FakeSendGrid:
    api_key: str = "SG.test-key"
    sent: list[dict[str, Any]] = field(default_factory=list)
    fail_next: list[int] = field(default_factory=list)
    server: LoopbackServer | None = None

    def app(self) -> Litestar:
        fake = self

        @post("/v3/mail/send", status_code=202)
        async def send(request: Request[Any, Any, Any]) -> Response[Any]:
            if request.headers.get("authorization") != f"Bearer {fake.api_key}":
                return Response(
                    {"errors": [{"message": "The provided authorization grant is invalid"}]},
                    status_code=401,
                )
            if fake.fail_next:
                status = fake.fail_next.pop(0)
                return Response({"errors": [{"message": f"status {status}"}]}, status_code=status)
            body = await request.json()
            problems = [
                k for k in ("personalizations", "from", "subject", "content") if not body.get(k)
            ]
            if problems:
                return Response(
                    {"errors": [{"message": f"missing {p}", "field": p} for p in problems]},
                    status_code=400,
                )
            message_id = uuid.uuid4().hex[:22]
            fake.sent.append({**body, "message_id": message_id})
            return Response(None, status_code=202, headers={"X-Message-Id": message_id})

        return Litestar([send], debug=False)

    async def start(self) -> FakeSendGrid:
        self.server = await LoopbackServer(self.app()).start()
        return self

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    async def stop(self) -> None:
        if self.server:
            await self.server.stop()

"""A webhook receiver on loopback that verifies every request with the `standardwebhooks` library."""

from __future__ import annotations

import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from standardwebhooks import Webhook, WebhookVerificationError


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    verified: bool
    payload: Any


@dataclass
class Receiver:
    """ASGI app: answers with the next scripted status (then `default`), records every request."""

    secrets: dict[str, str] = field(default_factory=dict)
    """path -> whsec_ secret to verify requests to that path with."""
    script: deque[int] = field(default_factory=deque)
    default: int = 200
    requests: list[Received] = field(default_factory=list)

    def answer(self, *statuses: int) -> None:
        self.script.extend(statuses)

    def delivered(self, status: int = 200) -> list[Received]:
        return [r for r in self.requests if r.headers.get("x-answered") == str(status)]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":  # the sender died mid-request
                return
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        secret = self.secrets.get(scope["path"])
        verified, payload = False, None
        if secret:
            try:
                payload = Webhook(secret).verify(body, headers)
                verified = True
            except WebhookVerificationError:
                payload = json.loads(body or b"null")
        status = self.script.popleft() if self.script else self.default
        headers["x-answered"] = str(status)
        self.requests.append(Received(scope["path"], headers, body, verified, payload))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})

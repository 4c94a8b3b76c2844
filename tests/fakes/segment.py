"""A fake Segment Tracking API on loopback: records what Segment's own client posts to /v1/batch."""

from __future__ import annotations

import gzip
import json
from collections import deque
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeSegment:
    batches: list[dict[str, Any]] = field(default_factory=list)
    script: deque[int] = field(default_factory=deque)

    @property
    def calls(self) -> list[dict[str, Any]]:
        return [call for batch in self.batches for call in batch.get("batch", [])]

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        if headers.get("content-encoding") == "gzip":
            body = gzip.decompress(body)
        status = self.script.popleft() if self.script else 200
        if status == 200 and scope["path"] == "/v1/batch":
            self.batches.append(json.loads(body))
            answer = {"success": True}
        else:
            answer = {"code": "server_error", "message": "try again"}
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": json.dumps(answer).encode()})

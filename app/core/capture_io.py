"""Reading and answering on the busiest capture endpoint without Litestar's per-request objects.

A Shopify webhook is read once, verified, stored and answered with one of two fixed documents,
thousands of times a second per process. Litestar's `Headers` (a multidict of every header, built
to read the four we keep) and its `Response` (headers, encoders and media type resolved for every
answer) were a third of that path's CPU (bench/ingest_path.py); here the headers are decoded into
a plain dict, the body is read with Litestar's own size limit, and an answer is a prebuilt ASGI
app that sends bytes encoded once. Errors are still raised as exceptions and answered by the
app's exception handlers, so every refusal reads as before.
"""

from __future__ import annotations

from typing import Any, cast

import msgspec
from litestar import Request
from litestar.exceptions import InternalServerException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.types import Receive, Scope, Send


def plain_headers(scope: Scope) -> dict[str, str]:
    """Header names lowercased as ASGI servers send them; a repeated header keeps its first value,
    as Litestar's `Headers.get` does."""
    headers: dict[str, str] = {}
    for name, value in scope["headers"]:
        headers.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return headers


async def read_body(request: Request[Any, Any, Any], headers: dict[str, str]) -> bytes:
    """The whole body, refused with 413 past the app's `request_max_body_size` as Litestar's
    `Request.body()` does: at once when Content-Length announces more, else once more arrives."""
    limit = request.route_handler.resolve_request_max_body_size() or float("inf")
    announced = headers.get("content-length")
    if announced is not None and announced.isdigit() and int(announced) > limit:
        raise RequestEntityTooLarge
    chunks: list[bytes] = []
    size = 0
    while True:
        event = await request.receive()
        if event["type"] == "http.disconnect":
            raise InternalServerException("client disconnected prematurely")
        chunk = cast(bytes, event.get("body", b""))
        if chunk:
            size += len(chunk)
            if size > limit:
                raise RequestEntityTooLarge
            chunks.append(chunk)
        if not event.get("more_body", False):
            return chunks[0] if len(chunks) == 1 else b"".join(chunks)


class JsonAnswer:
    """An ASGI app answering `document` as JSON; the bytes are encoded once, when it is built.

    Each answer sends new message dicts: middleware may edit a message's headers in place."""

    __slots__ = ("_body", "_headers", "_status")

    def __init__(self, document: dict[str, str], status: int = 200) -> None:
        self._body = msgspec.json.encode(document)
        self._status = status
        self._headers = (
            (b"content-type", b"application/json"),
            (b"content-length", str(len(self._body)).encode()),
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {"type": "http.response.start", "status": self._status, "headers": list(self._headers)}
        )
        await send({"type": "http.response.body", "body": self._body, "more_body": False})

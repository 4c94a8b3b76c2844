"""One signed HTTP attempt per the Standard Webhooks spec, bounded in time and in what it reads."""

from __future__ import annotations

import asyncio
import base64
import json
import secrets
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
from standardwebhooks import Webhook

from app.hooks.targets import Pinned

USER_AGENT = "FollowUp-Webhooks/1"


def new_secret() -> str:
    """A `whsec_` secret of 32 random bytes, unique per subscription."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


def encode(payload: dict[str, Any]) -> str:
    """The exact body that is signed and sent; the same bytes on every retry."""
    return json.dumps(payload, separators=(",", ":"), sort_keys=True)


def signed_headers(secret: str, webhook_id: str, body: str, now: datetime) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": webhook_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": Webhook(secret).sign(webhook_id, now, body),
    }


@dataclass(frozen=True)
class Answer:
    status: int | None
    """None: no HTTP answer at all (timeout, refused connection, DNS)."""
    duration_ms: int
    error: str | None = None
    response: str = ""
    retry_after: float | None = None

    @property
    def ok(self) -> bool:
        """Success is any 2xx; a redirect is a failure (never followed)."""
        return self.status is not None and 200 <= self.status < 300


MAX_IN_FLIGHT = 64  # posts at once per process, whatever the number of jobs running
_clients: dict[int, httpx.AsyncClient] = {}
_gates: dict[int, asyncio.Semaphore] = {}


def _client() -> httpx.AsyncClient:
    """One pooled client per event loop (connections to a receiver are reused across events)."""
    loop = id(asyncio.get_running_loop())
    client = _clients.get(loop)
    if client is None or client.is_closed:
        limits = httpx.Limits(max_connections=MAX_IN_FLIGHT, max_keepalive_connections=20)
        # No pool timeout: `turn` admits no more posts than the pool has connections.
        timeout = httpx.Timeout(None)
        client = _clients[loop] = httpx.AsyncClient(
            follow_redirects=False, limits=limits, timeout=timeout
        )
    return client


def turn() -> asyncio.Semaphore:
    """Bounds the posts in flight in this event loop, across every job the worker runs at once,
    so a burst of fan-outs queues here instead of timing out waiting for a pooled connection."""
    loop = id(asyncio.get_running_loop())
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(MAX_IN_FLIGHT)
    return gate


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers.get("retry-after", "")))
    except ValueError:
        return None


async def attempt(
    target: Pinned, headers: dict[str, str], body: str, limit_seconds: float, max_bytes: int
) -> Answer:
    """POST once; the whole exchange (connect, send, read) must finish within `limit_seconds`, and at
    most `max_bytes` of the answer are read, the rest is dropped with the connection. Callers take
    a `turn()` first; waiting for it is not part of the exchange."""
    started = time.monotonic()

    def spent() -> int:
        return int((time.monotonic() - started) * 1000)

    try:
        async with asyncio.timeout(limit_seconds):
            if target.host:  # connect to the checked address, speak to the named host
                headers = {**headers, "Host": target.host}
            extensions = {"sni_hostname": target.sni} if target.sni else None
            request = _client().build_request(
                "POST", target.url, content=body, headers=headers, extensions=extensions
            )
            response = await _client().send(request, stream=True)
            try:
                chunks, size = [], 0
                async for chunk in response.aiter_raw():
                    chunks.append(chunk)
                    size += len(chunk)
                    if size >= max_bytes:
                        break
            finally:
                await response.aclose()
    except TimeoutError:
        return Answer(None, spent(), f"no answer within {limit_seconds:g}s")
    except httpx.HTTPError as exc:
        return Answer(None, spent(), f"{type(exc).__name__}: {exc}"[:500])
    text = b"".join(chunks)[:max_bytes].decode("utf-8", "replace")
    return Answer(response.status_code, spent(), None, text[:2000], _retry_after(response))

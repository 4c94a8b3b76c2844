"""Async Admin GraphQL client: pinned API version, cost-based throttling, 429 Retry-After, token refresh."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from app.config import get_settings
from app.core.logging import ctx
from app.integrations.shopify import oauth, tokens
from app.stores.models import Store

log = logging.getLogger(__name__)
Sleep = Callable[[float], Awaitable[None]]
MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 60.0


class ShopifyError(RuntimeError):
    """The Admin API refused or failed a request; `errors` holds what Shopify said."""

    def __init__(self, message: str, errors: Any = None) -> None:
        super().__init__(message)
        self.errors = errors


class Throttled(ShopifyError):
    """Shopify asked us to slow down (THROTTLED or 429) and the caller would rather not wait."""


class UserErrors(ShopifyError):
    """A mutation ran but Shopify rejected its input (`userErrors`): retrying will not help."""


def throttle_wait(body: dict[str, Any]) -> float:
    """Seconds until the leaky bucket holds enough points for the query that was refused."""
    cost = (body.get("extensions") or {}).get("cost") or {}
    status = cost.get("throttleStatus") or {}
    needed = float(cost.get("requestedQueryCost") or 0) - float(
        status.get("currentlyAvailable") or 0
    )
    rate = float(status.get("restoreRate") or 50)
    return min(max(needed / rate, 0.1), MAX_WAIT_SECONDS)


def _throttled(body: dict[str, Any]) -> bool:
    return any(
        (e.get("extensions") or {}).get("code") == "THROTTLED" for e in body.get("errors") or []
    )


def _retry_after(response: httpx.Response) -> float:
    try:
        return min(max(float(response.headers.get("Retry-After", "1")), 0.0), MAX_WAIT_SECONDS)
    except ValueError:
        return 1.0


class AdminClient:
    """One store's Admin API; create per unit of work (`async with AdminClient(store) as admin`)."""

    def __init__(
        self,
        store: Store,
        *,
        sleep: Sleep = asyncio.sleep,
        timeout: float = 30.0,
        patient: bool = True,
    ) -> None:
        """`patient=False`: a throttled request raises `Throttled` at once instead of waiting
        (a send that has the captured cart to fall back on never waits for Shopify's bucket)."""
        settings = get_settings().shopify
        self.store = store
        self.url = (
            f"{oauth.admin_origin(store.domain)}/admin/api/{settings.api_version}/graphql.json"
        )
        self.sleep = sleep
        self.patient = patient
        self._http = httpx.AsyncClient(timeout=timeout)

    async def __aenter__(self) -> AdminClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._http.aclose()

    async def execute(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        """Run one operation and return its `data`; waits out throttling and refreshes the token once."""
        refreshed = False
        for _attempt in range(MAX_ATTEMPTS):
            token = await tokens.access_token(self.store)
            response = await self._http.post(
                self.url,
                json={"query": query, "variables": variables or {}},
                headers={"X-Shopify-Access-Token": token, "Accept": "application/json"},
            )
            if response.status_code == 401 and not refreshed:
                await tokens.rotate(self.store, stale=token)
                refreshed = True
                continue
            if response.status_code in (429, 502, 503):
                await self._wait(_retry_after(response), f"HTTP {response.status_code}")
                continue
            body = self._body(response)
            if _throttled(body):
                await self._wait(throttle_wait(body), "THROTTLED")
                continue
            if body.get("errors"):
                raise ShopifyError(f"GraphQL errors: {body['errors']}", body["errors"])
            return body.get("data") or {}
        raise ShopifyError(f"gave up after {MAX_ATTEMPTS} attempts (rate limited)")

    async def mutate(self, query: str, variables: dict[str, Any], root: str) -> dict[str, Any]:
        """Run a mutation and raise UserErrors when Shopify rejects its input."""
        result = (await self.execute(query, variables)).get(root) or {}
        problems = result.get("userErrors") or []
        if problems:
            text = "; ".join(f"{'.'.join(p.get('field') or [])}: {p['message']}" for p in problems)
            raise UserErrors(f"{root} refused: {text}", problems)
        return result

    async def _wait(self, seconds: float, reason: str) -> None:
        if not self.patient:
            raise Throttled(
                f"Shopify throttled the request ({reason}); not waiting {seconds:.1f} s"
            )
        log.info(
            "shopify rate limit, waiting", extra=ctx(store=self.store.id, s=seconds, why=reason)
        )
        await self.sleep(seconds)

    def _body(self, response: httpx.Response) -> dict[str, Any]:
        if response.status_code == 401:
            raise tokens.NotInstalled(f"store {self.store.id}: Shopify refused the refreshed token")
        if response.status_code >= 400:
            raise ShopifyError(f"Admin API answered {response.status_code}: {response.text[:300]}")
        body = response.json()
        if not isinstance(body, dict):
            raise ShopifyError("Admin API reply is not a JSON object")
        return body

"""Who may open the merchant pages, and the headers that let Shopify's admin embed them.

All merchant-page auth goes through `manager_access` / `manager_api` / `store_api`: the App Bridge
session-token path for embedded Shopify use is added here, in one place, when that branch is merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State

from app.accounts import sessions
from app.accounts.guards import CurrentAgent, api_manager, page_manager
from app.core.errors import ApiError
from app.stores.auth import api_store
from app.stores.models import Platform, Store


@dataclass(frozen=True, slots=True)
class Access:
    current: CurrentAgent
    store: Store

    def context(self, active: str, **values: Any) -> dict[str, Any]:
        """What base.html needs on every page, plus the page's own values."""
        return {
            "current": self.current,
            "csrf_token": self.current.session.csrf,
            "active": active,
            "store": self.store,
            **values,
        }


async def _store(current: CurrentAgent) -> Store:
    store = await Store.get_or_none(id=current.store_id)
    if store is None:
        raise ApiError(404, "not_found", "this account's store no longer exists")
    return store


async def manager_access(request: Request[Any, Any, State]) -> Access:
    """HTML pages for owners and admins: no session goes to login, an agent gets 403."""
    current = await page_manager(request)
    return Access(current, await _store(current))


async def manager_api(request: Request[Any, Any, State]) -> Access:
    """JSON used by our own pages: session cookie plus CSRF header on anything that writes."""
    current = await api_manager(request)
    return Access(current, await _store(current))


async def store_api(request: Request[Any, Any, State]) -> Store:
    """The store a JSON API call acts for: the bearer token's (scripts), or, for our own pages
    (no Authorization header, a session cookie), the signed-in owner's or admin's store, with the
    CSRF header on anything that writes. One endpoint serves both: pages call the public API."""
    if "authorization" in request.headers or sessions.COOKIE not in request.cookies:
        return await api_store(request)
    return (await manager_api(request)).store


def frame_headers(store: Store) -> dict[str, str]:
    """Shopify stores may show the dashboard inside their admin; everyone else may not frame it."""
    if store.platform == Platform.SHOPIFY:
        ancestors = f"https://{store.domain} https://admin.shopify.com"
        return {"Content-Security-Policy": f"frame-ancestors {ancestors}"}
    return {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}

"""Who may open the merchant pages, and the headers that let Shopify's admin embed them.

All merchant-page auth goes through `manager_access` / `manager_api` (JSON APIs shared with
scripts use `app.accounts.guards.store_api`): the App Bridge
session-token path for embedded Shopify use is added here, in one place, when that branch is merged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request
from litestar.datastructures import State

from app.accounts.guards import CurrentAgent, agent_store, api_manager, page_manager
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
    return await agent_store(current)


async def manager_access(request: Request[Any, Any, State]) -> Access:
    """HTML pages for owners and admins: no session goes to login, an agent gets 403."""
    current = await page_manager(request)
    return Access(current, await _store(current))


async def manager_api(request: Request[Any, Any, State]) -> Access:
    """JSON used by our own pages: session cookie plus CSRF header on anything that writes."""
    current = await api_manager(request)
    return Access(current, await _store(current))


def frame_headers(store: Store) -> dict[str, str]:
    """Shopify stores may show the dashboard inside their admin; everyone else may not frame it."""
    if store.platform == Platform.SHOPIFY:
        ancestors = f"https://{store.domain} https://admin.shopify.com"
        return {"Content-Security-Policy": f"frame-ancestors {ancestors}"}
    return {"Content-Security-Policy": "frame-ancestors 'none'", "X-Frame-Options": "DENY"}

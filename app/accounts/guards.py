"""Who is asking: the session behind a request, checked for CSRF on anything that changes state."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from litestar import Request
from litestar.datastructures import State
from litestar.exceptions import HTTPException
from redis.asyncio import Redis

from app.accounts import sessions
from app.accounts.models import Agent
from app.core.errors import ApiError
from app.stores.auth import api_store
from app.stores.models import Store

UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
CSRF_HEADER = "x-csrf-token"
CSRF_FIELD = "csrf_token"


@dataclass(frozen=True, slots=True)
class CurrentAgent:
    agent: Agent
    session: sessions.Session
    token: str

    @property
    def store_id(self) -> int:
        return self.session.store_id


class LoginRequired(HTTPException):
    """Pages answer with a redirect to the login form instead of a bare 401."""

    status_code = 303

    def __init__(self, next_url: str) -> None:
        super().__init__(
            detail="login required", headers={"Location": f"/login?next={quote(next_url)}"}
        )


async def resolve_session(redis: Redis, token: str | None) -> CurrentAgent | None:
    """The live session behind a cookie token and its agent, still active in the session's store.

    Requests and the inbox websocket both authenticate through here, so a deactivated agent is
    shut out of both alike."""
    session = await sessions.load(redis, token)
    if session is None or token is None:
        return None
    agent = await Agent.get_or_none(id=session.agent_id, store_id=session.store_id, active=True)
    return CurrentAgent(agent, session, token) if agent else None


async def _resolve(request: Request[Any, Any, State]) -> CurrentAgent | None:
    return await resolve_session(request.app.state.redis, request.cookies.get(sessions.COOKIE))


async def _check_csrf(request: Request[Any, Any, State], current: CurrentAgent) -> None:
    if request.method not in UNSAFE:
        return
    sent = request.headers.get(CSRF_HEADER)
    if sent is None and "form" in request.headers.get("content-type", ""):
        sent = (await request.form()).get(CSRF_FIELD)
    if not sent or not hmac.compare_digest(str(sent), current.session.csrf):
        raise ApiError(
            403, "csrf_failed", "missing or wrong CSRF token; reload the page and try again"
        )


async def optional_agent(request: Request[Any, Any, State]) -> CurrentAgent | None:
    return await _resolve(request)


async def current_agent(request: Request[Any, Any, State]) -> CurrentAgent:
    """For JSON endpoints used by our pages: 401 without a session, 403 without the CSRF token."""
    current = await _resolve(request)
    if current is None:
        raise ApiError(401, "login_required", "log in first")
    await _check_csrf(request, current)
    return current


async def page_agent(request: Request[Any, Any, State]) -> CurrentAgent:
    """For HTML pages: no session sends the browser to the login form and back."""
    current = await _resolve(request)
    if current is None:
        raise LoginRequired(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
    await _check_csrf(request, current)
    return current


async def page_manager(request: Request[Any, Any, State]) -> CurrentAgent:
    """Owners and admins only: agents see the inbox, not revenue or settings."""
    current = await page_agent(request)
    if not current.agent.is_manager:
        raise ApiError(403, "forbidden", "only owners and admins can open this page")
    return current


async def api_manager(request: Request[Any, Any, State]) -> CurrentAgent:
    current = await current_agent(request)
    if not current.agent.is_manager:
        raise ApiError(403, "forbidden", "only owners and admins can do this")
    return current


async def agent_store(current: CurrentAgent) -> Store:
    store = await Store.get_or_none(id=current.store_id)
    if store is None:
        raise ApiError(404, "not_found", "this account's store no longer exists")
    return store


async def store_api(request: Request[Any, Any, State]) -> Store:
    """The store a JSON API call acts for: the bearer token's (scripts), or, for our own pages
    (no Authorization header, a session cookie), the signed-in owner's or admin's store, with the
    CSRF header on anything that writes. One endpoint serves both: pages call the public API."""
    if "authorization" in request.headers or sessions.COOKIE not in request.cookies:
        return await api_store(request)
    return await agent_store(await api_manager(request))

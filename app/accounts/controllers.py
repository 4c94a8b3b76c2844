"""Login, logout (here or everywhere) and invitation pages."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.accounts import sessions
from app.accounts.guards import CurrentAgent, current_agent
from app.accounts.limits import login_wait
from app.accounts.models import Agent
from app.accounts.services import AccountError, accept_invitation, authenticate, normalize_email
from app.config import get_settings
from app.core.ratelimit import LimiterUnavailable
from app.core.security import token_digest

LOGIN_CSRF = "fu_login_csrf"


def _safe_next(value: str | None) -> str:
    """Only same-site paths: an open redirect after login would be a phishing gift."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _secure() -> bool:
    return get_settings().server.public_url.startswith("https://")


def session_cookie(token: str, *, embedded: bool = False) -> Cookie:
    """Lax for our own pages; None (and Secure) when the Shopify admin frames us from its site."""
    return Cookie(
        key=sessions.COOKIE,
        value=token,
        httponly=True,
        secure=_secure() or embedded,
        samesite="none" if embedded else "lax",
        max_age=sessions.TTL_SECONDS,
        path="/",
    )


def _login_page(
    next_url: str, error: str | None = None, email: str | None = None, status: int = 200
) -> Template:
    token = secrets.token_urlsafe(16)
    return Template(
        "accounts/login.html",
        status_code=status,
        context={"login_csrf": token, "next_url": next_url, "error": error, "email": email},
        cookies=[
            Cookie(
                key=LOGIN_CSRF,
                value=token,
                httponly=True,
                secure=_secure(),
                samesite="strict",
                path="/login",
            )
        ],
    )


async def _limited(request: Request[Any, Any, State], email: str) -> tuple[int, str] | None:
    """Status and words for an attempt refused before its password is checked, else None."""
    ip = request.client.host if request.client else "-"
    try:
        wait = await login_wait(request.app.state.redis, email, ip)
    except LimiterUnavailable:
        return (
            503,
            "We cannot check sign-in attempts right now, so sign-in is paused. Try again in a minute.",
        )
    if wait:
        minutes = max(1, round(wait / 60))
        return (
            429,
            f"Too many attempts. Wait {minutes} minute{'s' if minutes > 1 else ''} and try again.",
        )
    return None


async def landing_for(agent: Agent) -> str:
    return "/dashboard" if agent.is_manager else "/inbox"


class AccountPages(Controller):
    include_in_schema = False

    @get("/login")
    async def login_form(self, next: str | None = None) -> Template:
        return _login_page(_safe_next(next))

    @post("/login")
    async def login(self, request: Request[Any, Any, State]) -> Response[Any]:
        form = await request.form()
        email, password = str(form.get("email", ""))[:320], str(form.get("password", ""))[:1024]
        next_url = _safe_next(str(form.get("next", "")))
        sent, expected = str(form.get("login_csrf", "")), request.cookies.get(LOGIN_CSRF, "")
        if not expected or not hmac.compare_digest(sent, expected):
            return _login_page(next_url, "Your form expired. Please try again.", email, 403)
        refusal = await _limited(request, normalize_email(email))
        if refusal:
            return _login_page(next_url, refusal[1], email, refusal[0])
        agent = await authenticate(email, password)
        if agent is None:
            return _login_page(next_url, "Email or password is not right.", email, 401)
        token, _ = await sessions.create(
            request.app.state.redis,
            agent.id,
            agent.store_id,  # type: ignore[attr-defined]
            str(agent.role),
        )
        target = next_url if next_url != "/" else await landing_for(agent)
        return Redirect(target, status_code=303, cookies=[session_cookie(token)])

    @post("/logout", dependencies={"current": Provide(current_agent)})
    async def logout(self, request: Request[Any, Any, State], current: CurrentAgent) -> Redirect:
        await sessions.destroy(request.app.state.redis, current.token, current.agent.id)
        return Redirect(
            "/login",
            status_code=303,
            cookies=[Cookie(key=sessions.COOKIE, value="", max_age=0, path="/")],
        )

    @post("/logout/everywhere", dependencies={"current": Provide(current_agent)})
    async def logout_everywhere(
        self, request: Request[Any, Any, State], current: CurrentAgent
    ) -> Redirect:
        await sessions.destroy_all(request.app.state.redis, current.agent.id)
        return Redirect(
            "/login",
            status_code=303,
            cookies=[Cookie(key=sessions.COOKIE, value="", max_age=0, path="/")],
        )

    @get("/invite/{token:str}")
    async def invite_form(self, token: str) -> Template:
        agent = await Agent.get_or_none(
            invite_digest=token_digest(token), active=True
        ).prefetch_related("store")
        if agent is None:
            return Template("accounts/invite.html", context={"invalid": True}, status_code=404)
        return Template(
            "accounts/invite.html",
            context={"email": agent.email, "name": agent.name, "store_name": agent.store.name},
        )

    @post("/invite/{token:str}")
    async def invite_accept(self, request: Request[Any, Any, State], token: str) -> Response[Any]:
        form = await request.form()
        try:
            agent = await accept_invitation(
                token,
                str(form.get("password", "")),
                str(form.get("name", "")).strip()[:255] or None,
            )
        except AccountError as exc:
            pending = await Agent.get_or_none(invite_digest=token_digest(token)).prefetch_related(
                "store"
            )
            if pending is None:
                return Template("accounts/invite.html", context={"invalid": True}, status_code=404)
            return Template(
                "accounts/invite.html",
                status_code=422,
                context={
                    "email": pending.email,
                    "name": pending.name,
                    "store_name": pending.store.name,
                    "error": str(exc),
                },
            )
        session_token, _ = await sessions.create(
            request.app.state.redis,
            agent.id,
            agent.store_id,  # type: ignore[attr-defined]
            str(agent.role),
        )
        return Redirect(
            await landing_for(agent), status_code=303, cookies=[session_cookie(session_token)]
        )

"""The login page, and logging out (here or everywhere)."""

from __future__ import annotations

import hmac
import secrets
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import Cookie, State
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.accounts import sessions
from app.accounts.cookies import cleared_session, secure, session_cookie
from app.accounts.guards import CurrentAgent, current_agent
from app.accounts.limits import login_wait
from app.accounts.services import authenticate, normalize_email
from app.core.ratelimit import LimiterUnavailable
from app.web.pages.home import landing_for

LOGIN_CSRF = "fu_login_csrf"


def _safe_next(value: str | None) -> str:
    """Only same-site paths: an open redirect after login would be a phishing gift."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _login_page(
    next_url: str, error: str | None = None, email: str | None = None, status: int = 200
) -> Template:
    token = secrets.token_urlsafe(16)
    return Template(
        "pages/login.html",
        status_code=status,
        context={"login_csrf": token, "next_url": next_url, "error": error, "email": email},
        cookies=[
            Cookie(
                key=LOGIN_CSRF,
                value=token,
                httponly=True,
                secure=secure(),
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


class LoginPages(Controller):
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
            agent.store_id,
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
            cookies=[cleared_session()],
        )

    @post("/logout/everywhere", dependencies={"current": Provide(current_agent)})
    async def logout_everywhere(
        self, request: Request[Any, Any, State], current: CurrentAgent
    ) -> Redirect:
        await sessions.destroy_all(request.app.state.redis, current.agent.id)
        return Redirect(
            "/login",
            status_code=303,
            cookies=[cleared_session()],
        )

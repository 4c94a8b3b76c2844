"""The session cookie: set on login, on accepting an invitation and in the embedded Shopify admin."""

from __future__ import annotations

from litestar.datastructures import Cookie

from app.accounts import sessions
from app.config import get_settings


def secure() -> bool:
    """Cookies are Secure whenever the app is served over HTTPS."""
    return get_settings().server.public_url.startswith("https://")


def session_cookie(token: str, *, embedded: bool = False) -> Cookie:
    """Lax for our own pages; None (and Secure) when the Shopify admin frames us from its site."""
    return Cookie(
        key=sessions.COOKIE,
        value=token,
        httponly=True,
        secure=secure() or embedded,
        samesite="none" if embedded else "lax",
        max_age=sessions.TTL_SECONDS,
        path="/",
    )


def cleared_session() -> Cookie:
    """Logging out: the browser drops the session cookie."""
    return Cookie(key=sessions.COOKIE, value="", max_age=0, path="/")

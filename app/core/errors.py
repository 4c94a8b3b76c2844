"""API errors with a stable machine code and a human reason; browsers get a page, API clients JSON."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.datastructures.headers import Accept
from litestar.exceptions import HTTPException
from litestar.response import Template

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    """Raise with a status, a short code and a reason a developer can act on."""

    def __init__(
        self, status_code: int, code: str, reason: str, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(status_code=status_code, detail=reason, headers=headers)
        self.code = code


_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "rate_limited",
    500: "server_error",
    503: "unavailable",
}
# What a person reads on an error page: a title and a sentence, never an internal code.
_PAGES = {
    403: ("You can't open this page", "Your account doesn't have access to it."),
    404: ("Page not found", "The address may be mistyped, or the page has moved."),
    405: ("This page can't do that", "The page exists, but not for this kind of request."),
    413: ("That was too large", "What you sent is bigger than FollowUp accepts."),
    429: ("Too many requests", "Wait a minute, then try again."),
    500: ("Something went wrong", "It's been logged. Try again in a moment."),
}
_MACHINE_PREFIXES = ("/collect/", "/webhooks/", "/plugin/", "/static/")


def wants_page(request: Request[Any, Any, Any]) -> bool:
    """A browser navigating to a page, not a script, an API client or a vendor's webhook."""
    path = request.url.path
    if "/api/" in path or path.startswith(_MACHINE_PREFIXES) or path.endswith(".json"):
        return False
    accept = Accept(request.headers.get("accept", ""))
    return accept.best_match(["application/json", "text/html"]) == "text/html"


def error_page(request: Request[Any, Any, Any], status: int, reason: str | None = None) -> Template:
    """The product's own error page: responsive, in words, with a way back."""
    title, text = _PAGES.get(status, ("That didn't work", "The request could not be completed."))
    return Template(
        "errors/error.html",
        context={"status": status, "title": title, "text": text, "reason": reason},
        status_code=status,
        media_type="text/html",
    )


def http_error_response(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    headers = getattr(exc, "headers", None)
    if wants_page(request):
        reason = exc.detail if isinstance(exc, ApiError) else None
        page = error_page(request, exc.status_code, reason)
        page.headers.update(headers or {})
        return page
    code = getattr(exc, "code", None) or _CODES.get(exc.status_code, "error")
    body: dict[str, object] = {"error": code, "detail": exc.detail}
    extra = getattr(exc, "extra", None)
    if extra and exc.status_code in (400, 422):
        body["problems"] = extra
    return Response(body, status_code=exc.status_code, headers=headers)


def internal_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Log what broke, with its traceback, and tell the caller only that it did."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if wants_page(request):
        return error_page(request, 500)
    return Response({"error": "server_error", "detail": "internal server error"}, status_code=500)


def login_redirect(request: Request[Any, Any, Any], exc: HTTPException) -> Response[None]:
    """Pages without a session go to the login form and come back afterwards."""
    return Response(None, status_code=303, headers=exc.headers)

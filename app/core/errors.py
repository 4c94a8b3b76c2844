"""API errors with a stable machine code and a human reason, rendered the same way everywhere."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException

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


def http_error_response(request: Request, exc: HTTPException) -> Response[dict[str, object]]:
    code = getattr(exc, "code", None) or _CODES.get(exc.status_code, "error")
    body: dict[str, object] = {"error": code, "detail": exc.detail}
    extra = getattr(exc, "extra", None)
    if extra and exc.status_code in (400, 422):
        body["problems"] = extra
    return Response(body, status_code=exc.status_code, headers=getattr(exc, "headers", None))


def internal_error(request: Request, exc: Exception) -> Response[dict[str, object]]:
    """Log what broke, with its traceback, and tell the caller only that it did."""
    log.error("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return Response({"error": "server_error", "detail": "internal server error"}, status_code=500)


def login_redirect(request: Request, exc: HTTPException) -> Response[None]:
    """Pages without a session go to the login form and come back afterwards."""
    return Response(None, status_code=303, headers=exc.headers)

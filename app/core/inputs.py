"""Input no database can store, refused at the door for every request: one place, one clear 400.

PostgreSQL rejects NUL in text, no driver can encode a lone surrogate, and no id column holds an
integer past 64 bits. Letting any of them through turns a client's mistake into a 500 deep in a
query; here it becomes a 400 naming the field, before a handler reads or writes anything.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import parse_qsl

from litestar import Request
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Receive, Scope, Send

from app.core.errors import ApiError

INT64_MAX = 2**63 - 1
_DIGITS = re.compile(r"[+-]?\d+")
# Vendor deliveries are verified on their raw bytes and stored as received; their normalizers
# clean what they read. Refusing one would only make the vendor retry the same bytes.
RAW_BODY_PREFIXES = ("/webhooks/", "/collect/", "/plugin/")
JSON_TYPES = ("application/json",)
FORM_TYPE = "application/x-www-form-urlencoded"


def text_problem(value: str, where: str) -> str | None:
    """Why `value` cannot be stored as text, or None."""
    if "\x00" in value:
        return f"{where} contains a NUL character (\\u0000), which cannot be stored"
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return f"{where} contains an unpaired surrogate (invalid Unicode)"
    return None


def number_problem(value: int, where: str) -> str | None:
    if isinstance(value, bool) or -INT64_MAX - 1 <= value <= INT64_MAX:
        return None
    return f"{where} is a whole number past 64 bits; no field here takes one that large"


def value_problem(value: Any, where: str) -> str | None:
    """The first unstorable part of a decoded JSON document, named by its path."""
    if isinstance(value, str):
        return text_problem(value, where)
    if isinstance(value, int):
        return number_problem(value, where)
    if isinstance(value, dict):
        for key, item in value.items():
            found = text_problem(key, f"a key in {where}")
            found = found or value_problem(item, f"{where}.{key[:40]}")
            if found:
                return found
    if isinstance(value, list):
        for index, item in enumerate(value):
            if found := value_problem(item, f"{where}[{index}]"):
                return found
    return None


def pairs_problem(raw: bytes, where: str) -> str | None:
    """A query string or form body: valid UTF-8, storable text, and digits that fit 64 bits."""
    try:
        pairs = parse_qsl(raw.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        return f"the {where} is not valid UTF-8 once percent-decoded"
    for name, value in pairs:
        label = f"{where} parameter {name[:40]!r}"
        found = text_problem(name, f"a {where} parameter name") or text_problem(value, label)
        if not found and _DIGITS.fullmatch(value.strip()):
            found = number_problem(int(value), label)
        if found:
            return found
    return None


def path_problem(params: dict[str, Any]) -> str | None:
    for name, value in params.items():
        where = f"path parameter {name!r}"
        if isinstance(value, str) and (found := text_problem(value, where)):
            return found
        if isinstance(value, int) and (found := number_problem(value, where)):
            return found
    return None


def _content_type(scope: Scope) -> str:
    for key, value in scope.get("headers", ()):
        if key == b"content-type":
            return value.decode("latin-1").split(";")[0].strip().lower()
    return ""


async def body_problem(scope: Scope, receive: Receive) -> str | None:
    """JSON and form bodies of our own endpoints; the body is cached for the handler to reuse."""
    kind = _content_type(scope)
    is_json = kind in JSON_TYPES or kind.endswith("+json")
    if scope["path"].startswith(RAW_BODY_PREFIXES) or not (is_json or kind == FORM_TYPE):
        return None
    body = await Request(scope, receive).body()
    if kind == FORM_TYPE:
        return pairs_problem(body, "form")
    try:
        document = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError):
        return None  # malformed JSON: the handler's decoder says why
    return value_problem(document, "body")


class InputGuard(ASGIMiddleware):
    """Refuses unstorable input in the path, the query string and JSON or form bodies (400)."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        query = scope.get("query_string") or b""
        problem = (
            path_problem(scope.get("path_params") or {})
            or (pairs_problem(query, "query string") if query else None)
            or await body_problem(scope, receive)
        )
        if problem:
            raise ApiError(400, "unstorable_input", problem)
        await next_app(scope, receive, send)

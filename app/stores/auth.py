"""API authentication: a store's bearer token resolves to that store, and every query is scoped to it."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.datastructures import State

from app.core.errors import ApiError
from app.stores.models import Store
from app.stores.services import store_for_api_token


async def api_store(request: Request[Any, Any, State]) -> Store:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(
            401,
            "missing_token",
            "send `Authorization: Bearer <store api_token>`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    store = await store_for_api_token(token.strip())
    if store is None:
        raise ApiError(
            401,
            "invalid_token",
            "this API token does not belong to any store",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return store

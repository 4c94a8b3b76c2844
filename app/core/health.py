"""Liveness of the parts the app cannot work without."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get
from litestar.datastructures import State

from app.core.db import ping_db
from app.core.redis import ping_redis


@get("/healthz", tags=["ops"], summary="Database and Redis state", include_in_schema=True)
async def healthz(request: Request[Any, Any, State]) -> Response[dict[str, Any]]:
    db_ok = await ping_db()
    redis_ok = await ping_redis(request.app.state.redis)
    body = {
        "status": "ok" if db_ok and redis_ok else "degraded",
        "database": "up" if db_ok else "down",
        "redis": "up" if redis_ok else "down",
    }
    return Response(body, status_code=200 if db_ok and redis_ok else 503)

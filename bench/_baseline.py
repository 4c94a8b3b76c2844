"""The baselines for bench/ingest.py, served with the same uvicorn settings as the app.

- `app`: a bare Litestar endpoint that reads the body and answers (the framework's floor).
- `insert_app`: like for like, Litestar plus an asyncpg pool doing only what one durable webhook
  costs without group commit: the same single-row `INSERT … ON CONFLICT DO NOTHING RETURNING` into
  raw_event and its commit, per request (no signature check, no JSON check, no queue nudge).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from litestar import Litestar, Request, post

KEPT = ("x-shopify-topic", "x-shopify-shop-domain", "x-shopify-webhook-id", "x-shopify-event-id")
INSERT = (
    'INSERT INTO "raw_event" (store_id, source, topic, delivery_id, event_id, fingerprint,'
    " triggered_at, headers, body, status, attempts, received_at)"
    " VALUES ($1, 'shopify', $2, $3, $4, $5, NULL, $6::jsonb, $7, 'pending', 0, now())"
    " ON CONFLICT DO NOTHING RETURNING id"
)


@post("/webhooks/shopify", status_code=200)
async def receive(request: Request) -> dict[str, str]:
    await request.body()
    return {"status": "accepted"}


app = Litestar([receive])


async def _no_reset(connection: Any) -> None:
    """As the app's pool does: no RESET ALL round trip on every release."""


@asynccontextmanager
async def _pool(app: Litestar) -> AsyncIterator[None]:
    pool = await asyncpg.create_pool(
        os.environ["FOLLOWUP_DATABASE_URL"], min_size=1, max_size=10, reset=_no_reset
    )
    app.state.pool = pool
    app.state.store_id = await pool.fetchval("SELECT id FROM store ORDER BY id LIMIT 1")
    try:
        yield
    finally:
        await pool.close()


@post("/webhooks/shopify", status_code=200)
async def insert(request: Request) -> dict[str, str]:
    body = await request.body()
    headers = request.headers
    stored = await request.app.state.pool.fetchval(
        INSERT,
        request.app.state.store_id,
        headers.get("x-shopify-topic", ""),
        headers.get("x-shopify-webhook-id", ""),
        headers.get("x-shopify-event-id"),
        hashlib.sha256(body).hexdigest(),
        json.dumps({k: headers[k] for k in KEPT if k in headers}),
        body.decode("utf-8", errors="replace"),
    )
    return {"status": "accepted" if stored else "duplicate"}


insert_app = Litestar([insert], lifespan=[_pool])

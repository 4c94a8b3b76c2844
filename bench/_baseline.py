"""The baseline for bench/ingest.py: a bare Litestar endpoint that reads the body and answers."""

from __future__ import annotations

from litestar import Litestar, Request, post


@post("/webhooks/shopify", status_code=200)
async def receive(request: Request) -> dict[str, str]:
    await request.body()
    return {"status": "accepted"}


app = Litestar([receive])

"""`followup dev`: migrations, demo data, web and worker together in one process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import uvicorn

from app.config import Settings
from app.core.db import close_db, init_db, migrate
from app.core.redis import redis_url
from app.dev.demo import Demo, seed_demo
from app.server import create_app
from app.worker import build_worker

log = logging.getLogger("followup.dev")


def _banner(settings: Settings, host: str, port: int, demo: Demo | None) -> str:
    base = f"http://{host}:{port}"
    lines = [
        "",
        "  FollowUp is running (embedded SQLite and Redis)"
        if settings.database.embedded
        else "  FollowUp is running",
        f"  App          {base}",
        f"  API docs     {base}/schema",
        f"  Health       {base}/healthz",
        f"  Data dir     {settings.server.data_dir}",
    ]
    if demo:
        seeded = demo.issued.as_dict()
        lines += [
            "",
            f"  Demo store   {seeded['name']} (id {seeded['id']})",
            f"  API token    {seeded['api_token']}",
            f"  Publishable  {seeded['publishable_key']}",
            f"  Log in       {base}/login  as {demo.login_email} / {demo.login_password}",
            f"  Try          curl -H 'Authorization: Bearer {seeded['api_token']}' "
            f"{base}/api/v1/checkouts",
        ]
    return "\n".join(lines) + "\n"


async def run_dev(settings: Settings, host: str, port: int) -> None:
    await migrate(settings)
    redis_url(settings)  # start the embedded Redis before anything connects to it
    await init_db(settings)
    try:
        demo = await seed_demo(f"http://{host}:{port}")
        app = create_app(settings, manage_db=False)
        server = uvicorn.Server(
            uvicorn.Config(
                app, host=host, port=port, log_level="warning", access_log=False, lifespan="on"
            )
        )
        worker = build_worker(settings, manage_db=False)
        print(_banner(settings, host, port, demo), flush=True)
        worker_task = asyncio.create_task(worker.async_run())
        try:
            await server.serve()
        finally:
            worker_task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await worker_task
            await worker.close()
    finally:
        await close_db()

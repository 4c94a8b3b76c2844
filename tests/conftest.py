"""Test harness: real SQLite or PostgreSQL and Redis, migrations applied once, tables and Redis emptied per test.

FOLLOWUP_TEST_DATABASE_URL picks the database (unset: a temporary SQLite file; `postgres://...`: that
PostgreSQL database) and FOLLOWUP_TEST_REDIS_URL the Redis (unset: an embedded redis-server for the
run); see tests/backends.py. Each developer or parallel run should use its own database and Redis db.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from redis.asyncio import Redis

from app.config import Settings, load_settings, use_settings
from app.core.db import close_db, init_db, migrate
from app.core.redis import connect_queue
from app.recovery.flows import forget_steps
from app.recovery.segments.services import forget_cached as forget_cached_segments
from app.server import create_app
from app.stores.services import forget_cached_stores
from app.wiring import wire
from app.worker import build_worker
from tests import backends, vendor_tools

DATABASE_URL = backends.database_url(os.environ.get("FOLLOWUP_TEST_DATABASE_URL"))
REDIS_URL = backends.redis_url(os.environ.get("FOLLOWUP_TEST_REDIS_URL"))
ON_SQLITE = backends.is_sqlite(DATABASE_URL)

SHOPIFY_SECRET = "shpss_test_secret_do_not_use"
TWILIO_TOKEN = "test_auth_token_do_not_use"
PUBLIC_URL = "https://app.example.com"

TEST_ENV = {
    "FOLLOWUP_DATABASE_URL": DATABASE_URL,
    "FOLLOWUP_REDIS_URL": REDIS_URL,
    "FOLLOWUP_SECRET_KEY": "test-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "FOLLOWUP_PUBLIC_URL": PUBLIC_URL,
    "FOLLOWUP_SHOPIFY_API_KEY": "test-api-key",
    "FOLLOWUP_SHOPIFY_API_SECRET": SHOPIFY_SECRET,
    "FOLLOWUP_TWILIO_ACCOUNT_SID": "AC00000000000000000000000000000000",
    "FOLLOWUP_TWILIO_AUTH_TOKEN": TWILIO_TOKEN,
    "FOLLOWUP_LOG_LEVEL": "WARNING",
    "FOLLOWUP_RECOVERY_JOB_GRACE_SECONDS": "0",  # burst workers run what is due now
    "FOLLOWUP_WEBHOOKS_ALLOW_PRIVATE": "1",  # webhook receivers in tests listen on loopback
}


def make_settings(**overrides: str) -> Settings:
    return load_settings({**TEST_ENV, **overrides})


def pytest_report_header() -> str:
    return f"followup: database {backends.shown(DATABASE_URL)}, redis {backends.shown(REDIS_URL)}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """On SQLite, tests of PostgreSQL itself are skipped with the reason their marker gives."""
    if not ON_SQLITE:
        return
    for item in items:
        marker = item.get_closest_marker("postgres_only")
        if marker is not None:
            reason = marker.args[0] if marker.args else marker.kwargs["reason"]
            item.add_marker(pytest.mark.skip(reason=f"PostgreSQL only: {reason}"))


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    vendor_tools.require_for(item)


def pytest_unconfigure() -> None:
    backends.stop()


@pytest.fixture(scope="session")
async def settings() -> AsyncIterator[Settings]:
    settings = make_settings()
    use_settings(settings)
    wire()  # listeners and topic maps, as every process does at start (tests call services directly)
    await backends.reset_database(DATABASE_URL)
    await migrate(settings)
    await init_db(settings)
    yield settings
    await close_db()
    use_settings(None)


@pytest.fixture
async def redis(settings: Settings) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL)
    await client.flushdb()
    yield client
    await client.aclose()


@pytest.fixture(autouse=True)
async def clean_state(request: pytest.FixtureRequest) -> AsyncIterator[None]:
    """Empty tables and Redis before every test that touches them."""
    if "settings" in request.fixturenames or request.node.get_closest_marker("db"):
        request.getfixturevalue("settings")
        await backends.empty_tables(DATABASE_URL)
        forget_cached_stores()
        forget_steps()  # flow ids restart with the tables: no flow's cached steps or segment
        forget_cached_segments()
        client = Redis.from_url(REDIS_URL)
        await client.flushdb()
        await client.aclose()
    yield


@pytest.fixture
async def queue(settings: Settings) -> AsyncIterator[Any]:
    pool = await connect_queue(settings)
    yield pool
    await pool.aclose()


@contextlib.asynccontextmanager
async def app_client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app built from these settings, in the test's own event loop (lifespan included), over
    httpx's ASGI transport.

    Not Litestar's AsyncTestClient: it runs the app on a portal thread with its own loop, and
    Tortoise, finding its connection bound to another loop, silently opens a new one and
    abandons the old (on SQLite an aiosqlite thread that is not a daemon, so the run never
    exits). pyproject turns that switch (TortoiseLoopSwitchWarning) into an error.
    """
    app = create_app(settings, manage_db=False)
    async with LifespanManager(app):
        # The app itself, not manager.app: asgi-lifespan hands every request the same "state"
        # dict, and Litestar caches each request's parsed form there.
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="https://app.example.com"
        ) as test_client:
            yield test_client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the session settings, in the test's own loop: one loop, one connection."""
    async with app_client(settings) as test_client:
        yield test_client


@pytest.fixture
async def live_server(settings: Settings) -> AsyncIterator[str]:
    """The app under a real uvicorn on a free loopback port, in the test's loop; yields its URL.

    For vendor clients that speak real HTTP (Segment's libraries) and for what only a real
    server passes on (raw paths with trailing slashes, undecoded query strings).
    """
    from tests.fakes.server import LoopbackServer

    app = create_app(settings, manage_db=False)
    async with LifespanManager(app):
        server = await LoopbackServer(app).start()
        try:
            yield server.url
        finally:
            await server.stop()


@pytest.fixture
def run_jobs(settings: Settings) -> Any:
    """Run every job that is due now with a burst worker, like production would, then return.

    arq's burst mode waits for deferred jobs too; tests want "everything due now", so the worker's
    own emptiness check counts only jobs whose time has come.
    """

    async def run(**overrides: Any) -> int:
        pool = await connect_queue(settings)

        async def due_jobs(name: str) -> int:
            # "Due" includes the ingest drain nudge, deferred to the end of its 50 ms bucket.
            return await pool.zcount(name, "-inf", int(time.time() * 1000) + 500)

        pool.zcard = due_jobs  # type: ignore[method-assign]
        worker = build_worker(
            settings, manage_db=False, burst=True, cron_jobs=[], redis_pool=pool, **overrides
        )
        try:
            await worker.async_run()
        finally:
            await worker.close()
            await pool.aclose()
        return worker.jobs_complete

    return run

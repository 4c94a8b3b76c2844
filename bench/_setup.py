"""Set-up shared by the benches that rebuild a PostgreSQL schema and seed one store."""

from __future__ import annotations

import os

import asyncpg


def bench_env(database: str, redis_db: int) -> dict[str, str]:
    """The app's settings for a bench: its own database, a Redis db of its own, quiet logs."""
    return {
        "FOLLOWUP_DATABASE_URL": database,
        "FOLLOWUP_REDIS_URL": os.environ.get(
            "BENCH_REDIS_URL", f"redis://127.0.0.1:6379/{redis_db}"
        ),
        "FOLLOWUP_SECRET_KEY": "bench-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "FOLLOWUP_LOG_LEVEL": "WARNING",
    }


async def reset_database(url: str) -> None:
    """An empty `public` schema in the bench database, which is created first if it is missing
    (a new machine has none of them)."""
    base, name = url.rsplit("/", 1)
    admin = await asyncpg.connect(f"{base}/postgres")
    try:
        if not await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name):
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    finally:
        await conn.close()


async def fresh_store(env: dict[str, str], domain: str, timezone: str = "UTC") -> tuple[int, str]:
    """Drop the bench database's schema, migrate it, and create one Shopify store: (id, api token)."""
    from app.config import load_settings, use_settings
    from app.core.db import close_db, init_db, migrate
    from app.stores.models import Platform
    from app.stores.services import create_store

    await reset_database(env["FOLLOWUP_DATABASE_URL"])
    settings = load_settings(env)
    use_settings(settings)
    await migrate(settings)
    await init_db(settings)
    issued = await create_store(platform=Platform.SHOPIFY, domain=domain, timezone=timezone)
    await close_db()
    return issued.store.id, issued.api_token

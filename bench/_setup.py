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


async def fresh_store(env: dict[str, str], domain: str, timezone: str = "UTC") -> tuple[int, str]:
    """Drop the bench database's schema, migrate it, and create one Shopify store: (id, api token)."""
    from app.config import load_settings, use_settings
    from app.core.db import close_db, init_db, migrate
    from app.stores.models import Platform
    from app.stores.services import create_store

    conn = await asyncpg.connect(env["FOLLOWUP_DATABASE_URL"])
    await conn.execute("DROP SCHEMA public CASCADE; CREATE SCHEMA public;")
    await conn.close()
    settings = load_settings(env)
    use_settings(settings)
    await migrate(settings)
    await init_db(settings)
    issued = await create_store(platform=Platform.SHOPIFY, domain=domain, timezone=timezone)
    await close_db()
    return issued.store.id, issued.api_token

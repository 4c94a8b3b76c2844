"""The PostgreSQL sessions the app opens: settings that decide what the stats queries cost."""

from __future__ import annotations

import pytest

from app.analytics import sql

pytestmark = pytest.mark.postgres_only("a PostgreSQL session setting")


async def test_queries_run_without_jit_compilation(settings):
    """JIT compiles a query whose estimate is high on every run, which cost a dirty day's sends
    seconds against milliseconds of execution; the app's connections turn it off."""
    assert (await sql.rows("SELECT current_setting('jit') AS jit"))[0]["jit"] == "off"

"""Fixtures for the plugin in a real WordPress: one private MariaDB per run, one site per build and case."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import pytest
import uvicorn

from app.config import Settings
from app.server import create_app
from tests.factories import free_port
from tests.vendor_tools import program
from tests.wordpress.site import MariaDB, WordPress


@pytest.fixture(scope="session")
def mariadb() -> Iterator[MariaDB]:
    for tool in ("php", "mariadbd", "mariadb-install-db", "mariadb"):
        program(tool)
    server = MariaDB().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def wordpress_sites(mariadb: MariaDB) -> Iterator[Callable[[str, bool], WordPress]]:
    """`site(build, with_woocommerce)`: installed and served once per run, shared by the tests."""
    sites: dict[tuple[str, bool], WordPress] = {}
    base = Path(tempfile.mkdtemp(prefix="fu-wordpress-"))

    def site(build: str, with_woocommerce: bool) -> WordPress:
        key = (build, with_woocommerce)
        if key not in sites:
            name = f"wp_{build.replace('.', '_')}_{'wc' if with_woocommerce else 'bare'}"
            wp = WordPress(build, base / name, mariadb, name, with_woocommerce)
            sites[key] = wp.install().serve()
        return sites[key]

    yield site
    for wp in sites.values():
        wp.stop()
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
async def app_server(settings: Settings) -> AsyncIterator[str]:
    """The app under uvicorn on loopback, so WordPress's own HTTP API can call it."""
    port = free_port()
    config = uvicorn.Config(
        create_app(settings, manage_db=False), host="127.0.0.1", port=port, log_level="warning"
    )
    instance = uvicorn.Server(config)
    task = asyncio.create_task(instance.serve())
    while not instance.started:  # noqa: ASYNC110 - uvicorn exposes a flag, not an event
        await asyncio.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    instance.should_exit = True
    await task

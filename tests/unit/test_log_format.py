"""One log format in every process: building the web app leaves the app's log set-up alone.

`followup dev` sets up logging, then builds the web app next to the worker. Litestar's default
logging config used to replace the root handlers there, so every later line, the worker's
included, came out in Litestar's format without its key=value context."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator

import pytest

from app.core.logging import configure_logging, ctx
from app.server import create_app


@pytest.fixture
def own_root_logger() -> Iterator[None]:
    """The test sets up logging as a process does; the rest of the session gets pytest's back."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    try:
        yield
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in levels.items():
            logging.getLogger(name).setLevel(was)


@pytest.mark.usefixtures("own_root_logger")
def test_building_the_app_keeps_one_format_with_its_context(settings, capsys):
    configure_logging("INFO")
    handlers = list(logging.getLogger().handlers)
    create_app(settings, manage_db=False)  # as `followup dev` builds it
    assert logging.getLogger().handlers == handlers
    logging.getLogger("app.checkouts.services").info(
        "checkout abandoned", extra=ctx(store=1, checkout=2)
    )
    err = capsys.readouterr().err
    line = (
        r"^\d\d:\d\d:\d\d INFO\s+app\.checkouts\.services: checkout abandoned store=1 checkout=2$"
    )
    assert re.search(line, err, re.M), err


async def test_the_sweep_says_what_it_did_in_words(settings, queue, caplog):
    from datetime import UTC, datetime, timedelta

    from app.core.outbox import OutboxEvent
    from app.worker import sweep

    event = await OutboxEvent.create(
        store_id=1, name="checkout.abandoned", subject_id=1, dedupe_key="a:1"
    )
    earlier = datetime.now(UTC) - timedelta(minutes=10)  # Redis lost its job long ago
    await OutboxEvent.filter(id=event.id).update(created_at=earlier)
    with caplog.at_level(logging.INFO, logger="app.worker"):
        counts = await sweep({"redis": queue})
    assert counts["events"] == 1
    assert "sweep: 1 event dispatched again" in caplog.messages

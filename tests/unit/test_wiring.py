"""Listeners and topic maps are registered by app.wiring at start, never as a side effect of import."""

from __future__ import annotations

import inspect
import subprocess
import sys
from pathlib import Path

from app import wiring
from app.analytics import listeners as analytics
from app.checkouts import listeners as checkouts
from app.core import events
from app.ingest import processing
from app.recovery import listeners as recovery
from inbox import listeners as inbox

ROOT = Path(__file__).resolve().parents[2]


def test_importing_the_program_registers_nothing() -> None:
    """Only `wire()` fills the registries, so the table in app/wiring.py is the whole story."""
    code = (
        "import app.server, app.worker, app.cli\n"
        "from app.core import events\n"
        "from app.ingest import processing\n"
        "print(len(events._handlers), len(events._listeners), len(processing._SOURCES))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["0", "0", "0"]


def test_every_listener_function_is_wired() -> None:
    wired = {handler for _, handler in wiring.SUBSCRIPTIONS + wiring.LISTENERS}
    for module in (analytics, checkouts, recovery, inbox):
        for name, function in inspect.getmembers(module, inspect.iscoroutinefunction):
            if function.__module__ == module.__name__ and not name.startswith("_"):
                assert function in wired, f"{module.__name__}.{name} is never wired"


def test_wire_is_idempotent_and_complete() -> None:
    wiring.wire()
    wiring.wire()
    for name, handler in wiring.SUBSCRIPTIONS:
        assert events.handlers_for(name).count(handler) == 1
    assert set(events.CATALOGUE) - {events.STORE_UNINSTALLED} <= {
        n for n, _ in wiring.SUBSCRIPTIONS
    }
    for topics in wiring.TOPIC_MAPS:
        assert processing.topics_for(topics.source) is topics
        assert topics.orders <= topics.known or topics.any_topic is not None

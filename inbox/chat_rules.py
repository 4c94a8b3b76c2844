"""Pure chat rules: what a shopper may send (sizes, ids, token shapes); hours live with the store."""

from __future__ import annotations

import re
from typing import Any

from app.stores.chat import Availability, ChatSettings, availability, settings_from

__all__ = ["Availability", "ChatSettings", "availability", "check_body", "settings_from"]

MAX_SHOPPER_BODY = 1000  # characters of one shopper message
MAX_AGENT_BODY = 2000  # characters of one agent chat message
MAX_FRAME = 4096  # bytes of one websocket frame from a shopper
CLIENT_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
VISITOR_KEY = re.compile(r"^[0-9a-f]{32}$")


def check_body(body: Any, limit: int = MAX_SHOPPER_BODY) -> str | None:
    """The trimmed text, or None when it is empty, too long or not text."""
    if not isinstance(body, str):
        return None
    text = body.strip()
    return text if 1 <= len(text) <= limit else None

"""Segment-spec events from the JS snippet, the Shopify pixel and server-side senders."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from app.ingest.models import Source
from app.ingest.services import Delivery

TRACKED = frozenset(
    {
        "Checkout Started",
        "Checkout Step Completed",
        "Checkout Updated",
        "Order Completed",
    }
)
MAX_BATCH = 100


class SpecError(ValueError):
    """The body is not a usable Segment-spec event; the message says which part."""


def _one(event: Any, index: int | None) -> dict[str, Any]:
    where = f"batch[{index}]" if index is not None else "event"
    if not isinstance(event, dict):
        raise SpecError(f"{where} must be a JSON object")
    kind = event.get("type", "track")
    if kind not in ("track", "identify"):
        raise SpecError(f"{where}.type must be 'track' or 'identify', not {kind!r}")
    if kind == "track" and not isinstance(event.get("event"), str):
        raise SpecError(f"{where}.event must name the event, e.g. 'Checkout Started'")
    for key in ("properties", "traits", "context"):
        if key in event and event[key] is not None and not isinstance(event[key], dict):
            raise SpecError(f"{where}.{key} must be an object")
    if not (event.get("anonymousId") or event.get("userId") or _traits(event)):
        raise SpecError(f"{where} needs anonymousId, userId or traits")
    return event


def _traits(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("traits") or (event.get("context") or {}).get("traits") or {}


def parse(document: Any) -> list[dict[str, Any]]:
    """One event or `{"batch": [...]}`; every event is checked before any is stored."""
    if isinstance(document, dict) and "batch" in document:
        batch = document["batch"]
        if not isinstance(batch, list) or not batch:
            raise SpecError("batch must be a non-empty array")
        if len(batch) > MAX_BATCH:
            raise SpecError(f"batch holds {len(batch)} events; at most {MAX_BATCH} per request")
        return [_one(e, i) for i, e in enumerate(batch)]
    return [_one(document, None)]


def topic(event: dict[str, Any]) -> str:
    return "identify" if event.get("type") == "identify" else str(event["event"])[:64]


def is_tracked(event: dict[str, Any]) -> bool:
    return event.get("type") == "identify" or event.get("event") in TRACKED


def to_delivery(event: dict[str, Any], context: dict[str, str]) -> Delivery:
    """`context` adds what only the HTTP layer knows (user agent, IP country) for the normalizer."""
    enriched = {**event, "_received": context}
    body = json.dumps(enriched, separators=(",", ":"), sort_keys=True).encode()
    message_id = (
        str(event.get("messageId") or "")
        or hashlib.sha256(json.dumps(event, sort_keys=True).encode()).hexdigest()
    )
    return Delivery(
        source=Source.COLLECT,
        topic=topic(event),
        delivery_id=message_id[:128],
        body=body,
        headers={},
    )

"""Segment-spec events from the JS snippet, the Shopify pixel, Segment's libraries and servers."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import zlib
from collections.abc import Mapping
from typing import Any

from app.ingest.models import Source
from app.ingest.processing import Topics
from app.ingest.services import Delivery
from app.integrations.collect.normalize import normalize

TRACKED = frozenset(
    {
        "Checkout Started",
        "Checkout Exited",  # ours, not Segment's: the shopper left the checkout page
        "Checkout Step Completed",
        "Checkout Updated",
        "Order Completed",
        "Order Updated",  # a later payment status of an order (paid, cancelled)
    }
)
# The topic map: one normalizer reads every event type (the body names it).
TOPICS = Topics(
    Source.COLLECT, any_topic=normalize, orders=frozenset({"Order Completed", "Order Updated"})
)
TYPES = frozenset({"track", "identify", "page", "screen", "group", "alias"})
MAX_BATCH = 100
# Fields of a single call's envelope (Segment's HTTP API) that are not part of the event.
_ENVELOPE = ("writeKey", "sentAt")


class SpecError(ValueError):
    """The body is not a usable Segment-spec event; the message says which part."""


class TooLarge(SpecError):
    """The body, once decompressed, is larger than we accept."""


class UnsupportedEncoding(SpecError):
    """A Content-Encoding we do not decode."""


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """The body as JSON bytes; gzip is inflated at most to `limit` bytes, so a bomb stops early."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding not in ("gzip", "x-gzip"):
        raise UnsupportedEncoding(f"Content-Encoding {encoding!r} is not supported; send gzip")
    inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
    try:
        data = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise SpecError(f"body is not valid gzip: {exc}") from None
    if len(data) > limit:
        raise TooLarge(f"body inflates to more than {limit} bytes")
    if not inflater.eof or inflater.unused_data:
        raise SpecError("body is not valid gzip: the stream is truncated or has trailing data")
    return data


def basic_auth_key(headers: Mapping[str, str]) -> str | None:
    """The write key Segment's libraries send as the Basic auth user name (empty password)."""
    scheme, _, credentials = headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic" or not credentials:
        return None
    try:
        decoded = base64.b64decode(credentials.strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
    return decoded.partition(":")[0] or None


def _one(event: Any, index: int | None) -> dict[str, Any]:
    where = f"batch[{index}]" if index is not None else "event"
    if not isinstance(event, dict):
        raise SpecError(f"{where} must be a JSON object")
    kind = event.get("type", "track")
    if kind not in TYPES:
        raise SpecError(f"{where}.type must be one of {', '.join(sorted(TYPES))}, not {kind!r}")
    if kind == "track" and not isinstance(event.get("event"), str):
        raise SpecError(f"{where}.event must name the event, e.g. 'Checkout Started'")
    if kind == "alias" and not (event.get("previousId") and event.get("userId")):
        raise SpecError(f"{where} (alias) needs previousId and userId")
    for key in ("properties", "traits", "context"):
        if key in event and event[key] is not None and not isinstance(event[key], dict):
            raise SpecError(f"{where}.{key} must be an object")
    if not (event.get("anonymousId") or event.get("userId") or _traits(event)):
        raise SpecError(f"{where} needs anonymousId, userId or traits")
    return event


def _traits(event: dict[str, Any]) -> dict[str, Any]:
    return event.get("traits") or (event.get("context") or {}).get("traits") or {}


def _with_shared(event: Any, shared: dict[str, Any]) -> Any:
    """A batch's top-level `context` and `integrations` apply to every event; the event's win."""
    if not isinstance(event, dict):
        return event
    merged = dict(event)
    for key, value in shared.items():
        if isinstance(value, dict) and isinstance(merged.get(key, {}), dict):
            merged[key] = {**value, **(merged.get(key) or {})}
    return merged


def parse(document: Any) -> list[dict[str, Any]]:
    """One event or `{"batch": [...]}`; every event is checked before any is stored."""
    if isinstance(document, dict) and "batch" in document:
        batch = document["batch"]
        if not isinstance(batch, list) or not batch:
            raise SpecError("batch must be a non-empty array")
        if len(batch) > MAX_BATCH:
            raise SpecError(f"batch holds {len(batch)} events; at most {MAX_BATCH} per request")
        shared = {k: document[k] for k in ("context", "integrations") if k in document}
        return [_one(_with_shared(e, shared), i) for i, e in enumerate(batch)]
    return [_one(_envelope_off(document), None)]


def parse_call(document: Any, kind: str) -> dict[str, Any]:
    """A single call of Segment's HTTP API (`/v1/track`, ...): the path says the type."""
    if not isinstance(document, dict):
        raise SpecError("event must be a JSON object")
    if document.get("type", kind) != kind:
        raise SpecError(f"type {document.get('type')!r} was posted to /v1/{kind}")
    return _one({**_envelope_off(document), "type": kind}, None)


def _envelope_off(document: Any) -> Any:
    if not isinstance(document, dict):
        return document
    return {k: v for k, v in document.items() if k not in _ENVELOPE}


def topic(event: dict[str, Any]) -> str:
    kind = event.get("type", "track")
    return str(event["event"])[:64] if kind == "track" else str(kind)


def is_tracked(event: dict[str, Any]) -> bool:
    """identify and alias teach us who a visitor is; of tracks, only the checkout events count."""
    kind = event.get("type", "track")
    return kind in ("identify", "alias") or (kind == "track" and event.get("event") in TRACKED)


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

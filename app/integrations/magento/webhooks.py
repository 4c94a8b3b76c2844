"""Deliveries from our Magento module: the WooCommerce plugin's signing scheme, its own source.

The module signs `X-FollowUp-Signature` = base64(HMAC-SHA256(webhook secret, "{timestamp}.{body}"))
with a timestamp inside five minutes, exactly as `plugins/woocommerce` does, so one check serves both.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping

from app.ingest.models import Source
from app.ingest.processing import Topics
from app.ingest.services import Delivery, fingerprint
from app.integrations.magento import normalize
from app.integrations.woocommerce.webhooks import (
    PLUGIN_DELIVERY,
    PLUGIN_EVENT,
    PLUGIN_SIGNATURE,
    PLUGIN_TIMESTAMP,
    plugin_problem,
    sign_plugin,
)

TOPICS = Topics(
    Source.MAGENTO,
    normalize={
        "cart.updated": lambda p: [normalize.cart_updated(p)],
        "order.placed": lambda p: [normalize.order_placed(p)],
    },
    orders=frozenset({"order.placed"}),
)
"""The Magento topic map: every event the module sends, its normalizer, and which carry orders."""
EVENTS = TOPICS.known
KEPT = (PLUGIN_EVENT, PLUGIN_DELIVERY, PLUGIN_TIMESTAMP)

__all__ = ["EVENTS", "PLUGIN_SIGNATURE", "TOPICS", "delivery", "event_of", "problem", "sign"]


def problem(
    secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> str | None:
    """None when the delivery is authentic and fresh; otherwise why it is refused."""
    if not secret:
        return "the store has no webhook secret"
    return plugin_problem(secret, body, headers, now)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    return sign_plugin(secret, timestamp, body)


def event_of(headers: Mapping[str, str]) -> str:
    return headers.get(PLUGIN_EVENT, "").strip().lower()


def delivery(body: bytes, headers: Mapping[str, str]) -> Delivery:
    """Verified first (`problem`): the signed "{timestamp}.{body}" is one delivery, so the same
    signed content under a new delivery id is a replay."""
    signed = headers.get(PLUGIN_TIMESTAMP, "").encode() + b"." + body
    return Delivery(
        source=Source.MAGENTO,
        topic=event_of(headers),
        delivery_id=(headers.get(PLUGIN_DELIVERY) or hashlib.sha256(body).hexdigest())[:128],
        fingerprint=fingerprint(signed),
        body=body,
        headers={k: headers[k] for k in KEPT if k in headers},
    )

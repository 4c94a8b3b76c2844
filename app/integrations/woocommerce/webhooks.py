"""WooCommerce deliveries: native webhooks (X-WC-*) and our plugin's timestamped cart events."""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Mapping

from app.core.security import hmac_sha256_base64, verify_base64_hmac
from app.ingest.models import Source
from app.ingest.processing import Topics
from app.ingest.services import Delivery, fingerprint
from app.integrations.woocommerce import normalize

WC_SIGNATURE = "x-wc-webhook-signature"
WC_TOPIC = "x-wc-webhook-topic"
WC_DELIVERY = "x-wc-webhook-delivery-id"
WC_KEPT = (
    "x-wc-webhook-source",
    WC_TOPIC,
    "x-wc-webhook-resource",
    "x-wc-webhook-event",
    "x-wc-webhook-id",
    WC_DELIVERY,
)

# Our plugin's contract (see plugins/woocommerce): signature over "{timestamp}.{raw body}".
PLUGIN_SIGNATURE = "x-followup-signature"
PLUGIN_TIMESTAMP = "x-followup-timestamp"
PLUGIN_EVENT = "x-followup-event"
PLUGIN_DELIVERY = "x-followup-delivery-id"
PLUGIN_TOLERANCE_SECONDS = 300
PLUGIN_EVENTS = frozenset({"cart.updated", "order.placed", "connection.test"})

# The topic maps, one per sender: WooCommerce's own webhooks and our plugin's events.
TOPICS = Topics(
    Source.WOOCOMMERCE,
    normalize={"order.created": normalize.native_order, "order.updated": normalize.native_order},
    orders=frozenset({"order.created", "order.updated"}),
)
PLUGIN_TOPICS = Topics(
    Source.PLUGIN,
    normalize={
        "cart.updated": lambda p: [normalize.plugin_cart(p)],
        "order.placed": lambda p: [normalize.plugin_order(p)],
        "checkout.exited": lambda p: [normalize.plugin_exit(p)],
    },
    orders=frozenset({"order.placed"}),
)

_PING = re.compile(rb"^webhook_id=\d+$")


def is_ping(body: bytes, headers: Mapping[str, str]) -> bool:
    """WooCommerce's unsigned creation ping: form body `webhook_id=N`, which must get exactly 200."""
    return WC_SIGNATURE not in headers and bool(_PING.match(body.strip()))


def is_plugin(headers: Mapping[str, str]) -> bool:
    return PLUGIN_SIGNATURE in headers


def sign_plugin(secret: str, timestamp: int, body: bytes) -> str:
    return hmac_sha256_base64(secret, str(timestamp).encode() + b"." + body)


def plugin_problem(
    secret: str, body: bytes, headers: Mapping[str, str], now: float | None = None
) -> str | None:
    """None when the plugin delivery is authentic and fresh; otherwise why it is refused."""
    raw_ts = headers.get(PLUGIN_TIMESTAMP, "")
    if not raw_ts.isdigit():
        return "missing or malformed X-FollowUp-Timestamp"
    timestamp = int(raw_ts)
    now = time.time() if now is None else now
    if abs(now - timestamp) > PLUGIN_TOLERANCE_SECONDS:
        return "timestamp outside the five-minute window"
    signed = raw_ts.encode() + b"." + body
    if not verify_base64_hmac(secret, signed, headers.get(PLUGIN_SIGNATURE)):
        return "signature does not match"
    return None


def native_problem(secret: str, body: bytes, headers: Mapping[str, str]) -> str | None:
    if not verify_base64_hmac(secret, body, headers.get(WC_SIGNATURE)):
        return "X-WC-Webhook-Signature missing or does not match"
    return None


def native_delivery(body: bytes, headers: Mapping[str, str]) -> Delivery:
    # Woo sends a delivery id on every hookshot; fall back to the body hash so retries still dedupe.
    delivery_id = headers.get(WC_DELIVERY) or hashlib.sha256(body).hexdigest()
    topic = headers.get(WC_TOPIC, "").strip().lower() or "unknown"
    return Delivery(
        source=Source.WOOCOMMERCE,
        topic=topic,
        delivery_id=delivery_id,
        fingerprint=fingerprint(topic.encode(), body),  # Woo signs only the body
        body=body,
        headers={k: headers[k] for k in WC_KEPT if k in headers},
    )


def plugin_delivery(body: bytes, headers: Mapping[str, str]) -> Delivery:
    """Verified first (`plugin_problem`): the signed "{timestamp}.{body}" is one delivery, so a
    new delivery id on the same signed content inside the five-minute window is a replay."""
    delivery_id = headers.get(PLUGIN_DELIVERY) or hashlib.sha256(body).hexdigest()
    signed = headers.get(PLUGIN_TIMESTAMP, "").encode() + b"." + body
    return Delivery(
        source=Source.PLUGIN,
        topic=headers.get(PLUGIN_EVENT, "").strip().lower() or "cart.updated",
        delivery_id=delivery_id,
        fingerprint=fingerprint(signed),
        body=body,
        headers={
            k: headers[k] for k in (PLUGIN_EVENT, PLUGIN_DELIVERY, PLUGIN_TIMESTAMP) if k in headers
        },
    )

"""Shopify webhook deliveries: HMAC verification and header mapping, nothing else."""

from __future__ import annotations

from collections.abc import Mapping

from app.core.security import verify_base64_hmac
from app.core.timeutil import parse_datetime
from app.ingest.models import Source
from app.ingest.services import Delivery, fingerprint

TOPIC = "x-shopify-topic"
HMAC = "x-shopify-hmac-sha256"
SHOP = "x-shopify-shop-domain"
WEBHOOK_ID = "x-shopify-webhook-id"
EVENT_ID = "x-shopify-event-id"
TRIGGERED_AT = "x-shopify-triggered-at"
API_VERSION = "x-shopify-api-version"
KEPT_HEADERS = (TOPIC, SHOP, WEBHOOK_ID, EVENT_ID, TRIGGERED_AT, API_VERSION)

COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
KNOWN_TOPICS = (
    frozenset(
        {
            "checkouts/create",
            "checkouts/update",
            "checkouts/delete",
            "orders/create",
            "orders/paid",
            "app/uninstalled",
        }
    )
    | COMPLIANCE_TOPICS
)


def verify(body: bytes, headers: Mapping[str, str], secrets: tuple[str, ...]) -> bool:
    """Accept the current secret or, during a rotation, the previous one."""
    signature = headers.get(HMAC)
    return any(verify_base64_hmac(secret, body, signature) for secret in secrets if secret)


def to_delivery(body: bytes, headers: Mapping[str, str]) -> Delivery:
    """Three identities dedupe it: the webhook id (one delivery and its retries), the event id
    (one event sent to several subscriptions) and the signed body under its topic, since the
    headers are not signed and a captured body resent under fresh ids is a replay."""
    topic = headers.get(TOPIC, "").strip().lower()
    webhook_id = headers.get(WEBHOOK_ID) or headers.get(EVENT_ID) or ""
    event_id = (headers.get(EVENT_ID) or "").strip() or None
    return Delivery(
        source=Source.SHOPIFY,
        topic=topic,
        delivery_id=webhook_id.strip(),
        event_id=event_id,
        fingerprint=fingerprint(topic.encode(), body),
        triggered_at=parse_datetime(headers.get(TRIGGERED_AT)),
        body=body,
        headers={k: headers[k] for k in KEPT_HEADERS if k in headers},
    )

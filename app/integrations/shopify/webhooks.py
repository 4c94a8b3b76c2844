"""Shopify webhook deliveries: header constants, the topic map, HMAC verification and header mapping."""

from __future__ import annotations

from collections.abc import Mapping

from app.core.security import verify_base64_hmac
from app.core.timeutil import parse_datetime
from app.ingest.models import Source
from app.ingest.processing import Topics
from app.ingest.services import Delivery, fingerprint
from app.integrations.shopify import compliance, normalize

TOPIC = "x-shopify-topic"
HMAC = "x-shopify-hmac-sha256"
SHOP = "x-shopify-shop-domain"
WEBHOOK_ID = "x-shopify-webhook-id"
EVENT_ID = "x-shopify-event-id"
TRIGGERED_AT = "x-shopify-triggered-at"
API_VERSION = "x-shopify-api-version"
KEPT_HEADERS = (TOPIC, SHOP, WEBHOOK_ID, EVENT_ID, TRIGGERED_AT, API_VERSION)

# Every topic we subscribe to (shopify.app.toml, and registration.py through the Admin API: the
# customer topics only there) and what becomes of it; the one map for Shopify.
TOPICS = Topics(
    Source.SHOPIFY,
    normalize={
        "checkouts/create": lambda p: [normalize.checkout(p)],
        "checkouts/update": lambda p: [normalize.checkout(p)],
        "checkouts/delete": lambda p: [normalize.checkout(p, deleted=True)],
        "orders/create": lambda p: [normalize.order(p)],
        "orders/paid": lambda p: [normalize.order(p)],
        # Payment and cancellation after the order: the customer history and payment reminders.
        "orders/updated": lambda p: [normalize.order(p)],
        "orders/cancelled": lambda p: [normalize.order(p)],
        # Marketing consent granted or withdrawn in Shopify: the contact, and the welcome flows.
        "customers/create": lambda p: [normalize.customer(p)],
        "customers/update": lambda p: [normalize.customer(p)],
    },
    handle={
        "app/uninstalled": compliance.uninstalled,
        "customers/redact": compliance.customers_redact,
        "customers/data_request": compliance.customers_data_request,
        "shop/redact": compliance.shop_redact,
    },
    orders=frozenset({"orders/create", "orders/paid", "orders/updated", "orders/cancelled"}),
    checkout_jobs=("enrich_checkout",),
)
COMPLIANCE_TOPICS = frozenset({"customers/data_request", "customers/redact", "shop/redact"})
KNOWN_TOPICS = TOPICS.known


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

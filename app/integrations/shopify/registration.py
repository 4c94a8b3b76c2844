"""Per-shop setup through the Admin API: webhook subscriptions (idempotent) and the web pixel."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from app.config import get_settings
from app.core.logging import ctx
from app.integrations.shopify.client import AdminClient, UserErrors
from app.integrations.shopify.webhooks import COMPLIANCE_TOPICS, KNOWN_TOPICS

log = logging.getLogger(__name__)

# Topics served by POST /webhooks/shopify, in the Admin API's enum spelling (orders/paid ->
# ORDERS_PAID). Compliance topics are declared in shopify.app.toml only: they cannot be subscribed
# through the API.
TOPICS = tuple(
    sorted(topic.upper().replace("/", "_") for topic in KNOWN_TOPICS - COMPLIANCE_TOPICS)
)

# Customer payloads carry metafields only from the namespaces their subscription names: `facts`
# holds Shopify's standard "Birth date" definition, `custom` the merchant's own (normalize.py
# BIRTHDAY_METAFIELDS). shopify.app.toml cannot name them, so these two topics are subscribed
# here only (its comment says why a second, metafield-less subscription would lose birthdays).
METAFIELD_NAMESPACES = {
    "CUSTOMERS_CREATE": ["custom", "facts"],
    "CUSTOMERS_UPDATE": ["custom", "facts"],
}

LIST = """
query FollowUpWebhooks($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic uri metafieldNamespaces }
    pageInfo { hasNextPage endCursor }
  }
}"""
CREATE = """
mutation FollowUpWebhookCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri metafieldNamespaces }
    userErrors { field message }
  }
}"""
DELETE = """
mutation FollowUpWebhookDelete($id: ID!) {
  webhookSubscriptionDelete(id: $id) { deletedWebhookSubscriptionId userErrors { field message } }
}"""
PIXEL_CREATE = """
mutation FollowUpPixelCreate($webPixel: WebPixelInput!) {
  webPixelCreate(webPixel: $webPixel) { webPixel { id settings } userErrors { field code message } }
}"""
PIXEL_FIND = "query FollowUpPixel { webPixel { id settings } }"
PIXEL_UPDATE = """
mutation FollowUpPixelUpdate($id: ID!, $webPixel: WebPixelInput!) {
  webPixelUpdate(id: $id, webPixel: $webPixel) { webPixel { id settings } userErrors { field code message } }
}"""


@dataclass(slots=True)
class SyncResult:
    created: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)


def webhook_uri() -> str:
    return f"{get_settings().server.public_url}/webhooks/shopify"


async def _existing(admin: AdminClient) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    after = None
    while True:
        page = (await admin.execute(LIST, {"after": after}))["webhookSubscriptions"]
        found.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


def _current(sub: dict[str, Any], wanted: set[str], uri: str) -> bool:
    """Still wanted, to our address, naming exactly the metafield namespaces we read."""
    topic = str(sub["topic"])
    namespaces = sorted(sub.get("metafieldNamespaces") or [])
    return (
        topic in wanted and sub["uri"] == uri and namespaces == METAFIELD_NAMESPACES.get(topic, [])
    )


def _create_variables(topic: str, uri: str) -> dict[str, object]:
    sub: dict[str, object] = {"uri": uri, "format": "JSON"}
    if topic in METAFIELD_NAMESPACES:
        sub["metafieldNamespaces"] = METAFIELD_NAMESPACES[topic]
    return {"topic": topic, "sub": sub}


async def sync_webhooks(admin: AdminClient) -> SyncResult:
    """List, create what is missing, delete what is stale or duplicated; running it twice changes
    nothing. A subscription without the metafield namespaces we read is stale: replaced."""
    uri = webhook_uri()
    result = SyncResult()
    wanted = set(TOPICS)
    for sub in await _existing(admin):
        if _current(sub, wanted, uri):
            wanted.discard(sub["topic"])
            result.kept.append(sub["topic"])
            continue
        await admin.mutate(DELETE, {"id": sub["id"]}, "webhookSubscriptionDelete")
        result.deleted.append(sub["topic"])
    for topic in TOPICS:
        if topic in wanted:
            variables = _create_variables(topic, uri)
            await admin.mutate(CREATE, variables, "webhookSubscriptionCreate")
            result.created.append(topic)
    log.info(
        "shopify webhooks synced",
        extra=ctx(store=admin.store.id, created=len(result.created), deleted=len(result.deleted)),
    )
    return result


def pixel_settings(publishable_key: str) -> str:
    """The pixel's settings, as the JSON string Shopify stores (fields of shopify.extension.toml)."""
    collect = f"{get_settings().server.public_url}/collect/v1/events"
    return json.dumps({"collectUrl": collect, "publishableKey": publishable_key})


async def activate_pixel(admin: AdminClient, publishable_key: str) -> str:
    """Create the shop's web pixel, or update its settings when one exists (re-install)."""
    pixel = {"settings": pixel_settings(publishable_key)}
    try:
        created = await admin.mutate(PIXEL_CREATE, {"webPixel": pixel}, "webPixelCreate")
        return str(created["webPixel"]["id"])
    except UserErrors as exc:
        if not any(e.get("code") == "TAKEN" for e in exc.errors):
            raise
    existing = (await admin.execute(PIXEL_FIND))["webPixel"]
    await admin.mutate(PIXEL_UPDATE, {"id": existing["id"], "webPixel": pixel}, "webPixelUpdate")
    return str(existing["id"])

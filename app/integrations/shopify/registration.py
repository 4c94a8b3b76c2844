"""Per-shop setup through the Admin API: webhook subscriptions (idempotent) and the web pixel."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field

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

LIST = """
query FollowUpWebhooks($after: String) {
  webhookSubscriptions(first: 100, after: $after) {
    nodes { id topic uri }
    pageInfo { hasNextPage endCursor }
  }
}"""
CREATE = """
mutation FollowUpWebhookCreate($topic: WebhookSubscriptionTopic!, $sub: WebhookSubscriptionInput!) {
  webhookSubscriptionCreate(topic: $topic, webhookSubscription: $sub) {
    webhookSubscription { id topic uri }
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


async def _existing(admin: AdminClient) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    after = None
    while True:
        page = (await admin.execute(LIST, {"after": after}))["webhookSubscriptions"]
        found.extend(page["nodes"])
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def sync_webhooks(admin: AdminClient) -> SyncResult:
    """List, create what is missing, delete what is stale or duplicated; running it twice changes nothing."""
    uri = webhook_uri()
    result = SyncResult()
    wanted = set(TOPICS)
    for sub in await _existing(admin):
        if sub["topic"] in wanted and sub["uri"] == uri:
            wanted.discard(sub["topic"])
            result.kept.append(sub["topic"])
            continue
        await admin.mutate(DELETE, {"id": sub["id"]}, "webhookSubscriptionDelete")
        result.deleted.append(sub["topic"])
    for topic in TOPICS:
        if topic in wanted:
            variables = {"topic": topic, "sub": {"uri": uri, "format": "JSON"}}
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

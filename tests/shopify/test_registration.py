"""Webhook registration converges: missing topics created, stale and duplicate ones removed."""

from __future__ import annotations

from app.integrations.shopify.client import AdminClient
from app.integrations.shopify.registration import TOPICS, sync_webhooks

URI = "https://app.example.com/webhooks/shopify"


def test_topics_are_every_known_topic_but_compliance_in_enum_spelling():
    assert sorted(TOPICS) == [
        "APP_UNINSTALLED",
        "CHECKOUTS_CREATE",
        "CHECKOUTS_DELETE",
        "CHECKOUTS_UPDATE",
        "CUSTOMERS_CREATE",
        "CUSTOMERS_UPDATE",
        "ORDERS_CANCELLED",
        "ORDERS_CREATE",
        "ORDERS_PAID",
        "ORDERS_UPDATED",
    ]


async def test_sync_creates_missing_deletes_stale_and_is_idempotent(installed, shopify):
    hooks = shopify.shops[installed.domain].webhooks
    hooks.clear()
    hooks["gid://shopify/WebhookSubscription/1"] = {"topic": "CHECKOUTS_CREATE", "uri": URI}
    hooks["gid://shopify/WebhookSubscription/2"] = {"topic": "CHECKOUTS_CREATE", "uri": URI}
    hooks["gid://shopify/WebhookSubscription/3"] = {
        "topic": "ORDERS_PAID",
        "uri": "https://old-host.example.com/webhooks/shopify",
    }
    hooks["gid://shopify/WebhookSubscription/4"] = {"topic": "PRODUCTS_UPDATE", "uri": URI}

    async with AdminClient(installed) as admin:
        result = await sync_webhooks(admin)
        assert sorted(result.deleted) == ["CHECKOUTS_CREATE", "ORDERS_PAID", "PRODUCTS_UPDATE"]
        assert sorted(result.created) == sorted(set(TOPICS) - {"CHECKOUTS_CREATE"})
        again = await sync_webhooks(admin)
    assert again.created == [] and again.deleted == [] and sorted(again.kept) == sorted(TOPICS)
    assert sorted((h["topic"], h["uri"]) for h in hooks.values()) == sorted(
        (t, URI) for t in TOPICS
    )


async def test_customer_topics_name_the_birthday_metafield_namespaces(installed, shopify):
    """customers/create|update carry metafields only from the namespaces their subscription
    names: `facts` (Shopify's "Birth date") and `custom`. One subscribed before without them is
    stale and is replaced; the others are kept as they are."""
    hooks = shopify.shops[installed.domain].webhooks
    hooks.clear()
    hooks["gid://shopify/WebhookSubscription/1"] = {"topic": "CUSTOMERS_UPDATE", "uri": URI}
    hooks["gid://shopify/WebhookSubscription/2"] = {"topic": "ORDERS_PAID", "uri": URI}

    async with AdminClient(installed) as admin:
        result = await sync_webhooks(admin)
        assert result.deleted == ["CUSTOMERS_UPDATE"] and "ORDERS_PAID" in result.kept
        again = await sync_webhooks(admin)
    assert again.created == [] and again.deleted == [] and sorted(again.kept) == sorted(TOPICS)
    namespaces = {h["topic"]: h.get("metafieldNamespaces", []) for h in hooks.values()}
    assert namespaces["CUSTOMERS_CREATE"] == namespaces["CUSTOMERS_UPDATE"] == ["custom", "facts"]
    assert all(namespaces[t] == [] for t in TOPICS if not t.startswith("CUSTOMERS_"))

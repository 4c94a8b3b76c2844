"""Variants' current price, compare-at price and stock from the Admin API, in one `nodes(ids:)`
request per store: what a recovery message may show right before it is rendered."""

from __future__ import annotations

import logging
from decimal import Decimal, InvalidOperation
from typing import Any

from app.checkouts.current import CurrentLine
from app.integrations.shopify import tokens
from app.integrations.shopify.client import AdminClient, ShopifyError
from app.integrations.shopify.enrichment import variant_gid
from app.stores.models import Store

log = logging.getLogger(__name__)
MAX_IDS = 250  # nodes(ids:) takes at most 250 ids per request
# `inventoryQuantity` needs the read_inventory scope; without it Shopify refuses the whole query.
_INVENTORY = "inventoryQuantity"
QUERY = """
query FollowUpCurrentVariants($ids: [ID!]!) {
  nodes(ids: $ids) {
    ... on ProductVariant {
      id
      price
      compareAtPrice
      availableForSale
      %s
    }
  }
  shop { currencyCode }
}"""


def query_for(store: Store) -> str:
    """The query this store's granted scopes allow (inventory only with read_inventory)."""
    try:
        scopes = set(tokens.load(store).scopes.split(","))
    except tokens.NotInstalled:
        scopes = set()
    return QUERY % (_INVENTORY if "read_inventory" in scopes else "")


def _amount(raw: Any) -> Decimal | None:
    # Admin API 2024-07+: price and compareAtPrice are Money scalars ("19.99"); older: MoneyV2.
    if isinstance(raw, dict):
        raw = raw.get("amount")
    if raw in (None, ""):
        return None
    try:
        return Decimal(str(raw))
    except InvalidOperation:
        return None


def _line(node: dict[str, Any], currency: str) -> CurrentLine | None:
    price = _amount(node.get("price"))
    if price is None:
        return None
    inventory = node.get(_INVENTORY)
    return CurrentLine(
        price=price,
        currency=currency,
        compare_at=_amount(node.get("compareAtPrice")),
        available=bool(node.get("availableForSale")),
        inventory=int(inventory) if isinstance(inventory, int) else None,
    )


def _numeric(gid: str) -> str:
    return gid.rsplit("/", 1)[-1]


async def current_lines(
    store: Store, variant_ids: list[str], wait_seconds: float
) -> dict[str, CurrentLine]:
    """variant id (as captured) -> what Shopify says now; a variant Shopify no longer has is
    reported as unavailable. Throttling raises (`Throttled`): the caller falls back, never waits."""
    found: dict[str, CurrentLine] = {}
    query = query_for(store)
    async with AdminClient(store, timeout=wait_seconds, patient=False) as admin:
        for start in range(0, len(variant_ids), MAX_IDS):
            batch = variant_ids[start : start + MAX_IDS]
            data = await admin.execute(query, {"ids": [variant_gid(i) for i in batch]})
            currency = str((data.get("shop") or {}).get("currencyCode") or store.currency)
            nodes = data.get("nodes")
            if not isinstance(nodes, list) or len(nodes) != len(batch):
                raise ShopifyError("nodes(ids:) answered a list of the wrong length")
            for variant_id, node in zip(batch, nodes, strict=True):
                line = _line(node, currency) if isinstance(node, dict) else None
                found[variant_id] = line or CurrentLine.gone(currency)
    return found

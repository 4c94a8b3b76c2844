"""Admin GraphQL resolvers of the fake Shopify: the root fields FollowUp uses, with Shopify's rules."""

from __future__ import annotations

import base64
import json
import re
import tomllib
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from tests.fakes.shopify import FakeShopify, Shop

TOPICS = {
    "CHECKOUTS_CREATE",
    "CHECKOUTS_UPDATE",
    "CHECKOUTS_DELETE",
    "ORDERS_CREATE",
    "ORDERS_PAID",
    "ORDERS_UPDATED",
    "ORDERS_CANCELLED",
    "CUSTOMERS_CREATE",
    "CUSTOMERS_UPDATE",
    "APP_UNINSTALLED",
}
ROOT = re.compile(r"^\s*(?:query|mutation)?\s*\w*\s*(?:\([^)]*\))?\s*\{\s*(\w+)", re.S)
MAXIMUM, MUTATION_COST = 2000.0, 10


def _cost(root: str, variables: dict[str, Any]) -> int:
    if root.endswith(("Create", "Update", "Delete")):
        return MUTATION_COST
    return 2 + int(variables.get("first") or 1)


def _extensions(fake: FakeShopify, cost: int, available: float) -> dict[str, Any]:
    return {
        "cost": {
            "requestedQueryCost": cost,
            "actualQueryCost": cost if available >= cost else None,
            "throttleStatus": {
                "maximumAvailable": MAXIMUM,
                "currentlyAvailable": available,
                "restoreRate": fake.restore_rate,
            },
        }
    }


def roots(query: str) -> list[str]:
    """The operation's top-level fields, in order (`{ nodes(...) {...} shop {...} }`)."""
    body = query[query.index("{") + 1 :] if "{" in query else ""
    found, depth, parens, i = [], 0, 0, 0
    while i < len(body):
        ch = body[i]
        if ch == "(":
            parens += 1
        elif ch == ")":
            parens -= 1
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
        elif depth == 0 and parens == 0 and (ch.isalpha() or ch == "_"):
            name = re.match(r"\w+", body[i:]).group(0)  # type: ignore[union-attr]
            found.append(name)
            i += len(name)
            continue
        i += 1
    return found


def _denied(fake: FakeShopify, query: str) -> str | None:
    """Shopify refuses a field the app's token has no scope for, with ACCESS_DENIED."""
    if "inventoryQuantity" in query and "read_inventory" not in fake.granted_scope.split(","):
        return "Access denied for inventoryQuantity field. Required access: `read_inventory`"
    return None


def resolve(fake: FakeShopify, shop: Shop, document: dict[str, Any]) -> dict[str, Any]:
    match = ROOT.match(document.get("query") or "")
    variables = document.get("variables") or {}
    if not match or match.group(1) not in RESOLVERS:
        return {"errors": [{"message": f"unsupported operation: {document.get('query')!r:.80}"}]}
    root = match.group(1)
    cost = _cost(root, variables)
    if fake.fail_next > 0:
        fake.fail_next -= 1
        return {
            "errors": [
                {"message": "Internal error", "extensions": {"code": "INTERNAL_SERVER_ERROR"}}
            ]
        }
    if denied := _denied(fake, document.get("query") or ""):
        return {"errors": [{"message": denied, "extensions": {"code": "ACCESS_DENIED"}}]}
    if fake.throttle_next > 0:
        fake.throttle_next -= 1
        return {
            "errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
            "extensions": _extensions(fake, cost, 1.0),
        }
    data: dict[str, Any] = {}
    for name in roots(document.get("query") or "") or [root]:
        if name in data:  # answered with an earlier root (shop brings shopLocales)
            continue
        if name not in RESOLVERS:
            return {"errors": [{"message": f"Field '{name}' doesn't exist on type 'QueryRoot'"}]}
        found = RESOLVERS[name](fake, shop, variables)
        if (
            "errors" in found
        ):  # a top-level error (bad variables): no data at all, as Shopify answers
            return {"errors": [{"message": found["errors"]}]}
        data |= found
    return {"data": data, "extensions": _extensions(fake, cost, MAXIMUM - cost)}


def _user_error(root: str, message: str, code: str | None = None, field: str = "") -> dict:
    error: dict[str, Any] = {"field": [field] if field else None, "message": message}
    if code:
        error["code"] = code
    return {root: {"userErrors": [error]}}


def shop_info(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    return {
        "shop": {
            "name": shop.name,
            "email": f"owner@{shop.primary_host}",
            "myshopifyDomain": shop.domain,
            "currencyCode": shop.currency,
            "ianaTimezone": shop.timezone,
            "primaryDomain": {"host": shop.primary_host, "url": f"https://{shop.primary_host}"},
        },
        "shopLocales": [{"locale": shop.locale, "primary": True}],
    }


def _page(items: list[Any], v: dict[str, Any], default: int = 50) -> tuple[list[Any], dict]:
    start = int(base64.b64decode(v["after"]).decode()) if v.get("after") else 0
    first = int(v.get("first") or default)
    if first > 250:
        raise ValueError("first may not exceed 250")
    chunk = items[start : start + first]
    end = start + len(chunk)
    info = {
        "hasNextPage": end < len(items),
        "endCursor": base64.b64encode(str(end).encode()).decode() if chunk else None,
    }
    return chunk, info


def _subscription(sub_id: str, sub: dict[str, Any]) -> dict[str, Any]:
    """WebhookSubscription as the API answers: `metafieldNamespaces` is non-null, [] when unset."""
    return {"id": sub_id, **sub, "metafieldNamespaces": list(sub.get("metafieldNamespaces") or [])}


def webhooks_list(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    nodes = [_subscription(k, sub) for k, sub in shop.webhooks.items()]
    chunk, info = _page(nodes, {**v, "first": 100})
    return {"webhookSubscriptions": {"nodes": chunk, "pageInfo": info}}


def webhook_create(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    root = "webhookSubscriptionCreate"
    sub = v.get("sub") or {}
    topic, uri = v.get("topic"), sub.get("uri", "")
    namespaces = sub.get("metafieldNamespaces")
    if topic not in TOPICS:
        return {"errors": f"Variable $topic: {topic!r} is not a WebhookSubscriptionTopic"}
    if namespaces is not None and not (
        isinstance(namespaces, list) and all(isinstance(n, str) for n in namespaces)
    ):
        return {"errors": "Variable $sub: metafieldNamespaces must be [String!]"}
    if not uri.startswith("https://"):
        return _user_error(root, "Address protocol http:// is not supported", field="uri")
    if any((s["topic"], s["uri"]) == (topic, uri) for s in shop.webhooks.values()):
        return _user_error(root, "Address for this topic has already been taken", field="uri")
    sub_id = fake.next_id("WebhookSubscription")
    shop.webhooks[sub_id] = {"topic": topic, "uri": uri}
    if namespaces:
        shop.webhooks[sub_id]["metafieldNamespaces"] = list(namespaces)
    return {
        root: {
            "webhookSubscription": _subscription(sub_id, shop.webhooks[sub_id]),
            "userErrors": [],
        }
    }


def webhook_delete(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    root = "webhookSubscriptionDelete"
    if shop.webhooks.pop(v.get("id", ""), None) is None:
        return _user_error(root, "Webhook subscription does not exist", field="id")
    return {root: {"deletedWebhookSubscriptionId": v["id"], "userErrors": []}}


def _pixel_problem(settings: Any) -> str | None:
    try:
        data = json.loads(settings)
    except (TypeError, ValueError):
        return "Settings must be a JSON string"
    missing = {"collectUrl", "publishableKey"} - set(data)
    return f"Settings missing {sorted(missing)}" if missing else None


def pixel_create(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    root = "webPixelCreate"
    if shop.pixel is not None:
        return _user_error(root, "Web pixel is taken.", "TAKEN", "webPixel")
    settings = (v.get("webPixel") or {}).get("settings")
    if problem := _pixel_problem(settings):
        return _user_error(root, problem, "INVALID_SETTINGS", "settings")
    shop.pixel = {"id": fake.next_id("WebPixel"), "settings": settings}
    return {root: {"webPixel": shop.pixel, "userErrors": []}}


def pixel_find(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    return {"webPixel": shop.pixel}


def pixel_update(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    root = "webPixelUpdate"
    if shop.pixel is None or shop.pixel["id"] != v.get("id"):
        return _user_error(root, "Web pixel not found", "NOT_FOUND", "id")
    settings = (v.get("webPixel") or {}).get("settings")
    if problem := _pixel_problem(settings):
        return _user_error(root, problem, "INVALID_SETTINGS", "settings")
    shop.pixel["settings"] = settings
    return {root: {"webPixel": shop.pixel, "userErrors": []}}


def _discount_problem(shop: Shop, d: dict[str, Any]) -> tuple[str, str, str] | None:
    for key in ("title", "code", "startsAt", "customerGets"):
        if not d.get(key):
            return f"{key} can't be blank", "BLANK", key
    if "context" not in d and "customerSelection" not in d:
        return "context can't be blank", "BLANK", "context"
    value = d["customerGets"].get("value") or {}
    if "percentage" in value:
        if not 0 < float(value["percentage"]) <= 1:
            return "Value must be between 0.0 and 1.0", "VALUE_OUTSIDE_RANGE", "percentage"
    elif Decimal(str((value.get("discountAmount") or {}).get("amount", "0"))) <= 0:
        return "Value must be greater than 0", "GREATER_THAN", "value"
    if any(x["code"].lower() == d["code"].lower() for x in shop.discounts):
        return "Code must be unique. Please try a different code.", "TAKEN", "code"
    return None


def discount_create(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    root = "discountCodeBasicCreate"
    d = v.get("basicCodeDiscount") or {}
    if problem := _discount_problem(shop, d):
        message, code, field = problem
        return _user_error(root, message, code, field)
    node = {"id": fake.next_id("DiscountCodeNode"), **d}
    shop.discounts.append(node)
    return {root: {"codeDiscountNode": {"id": node["id"]}, "userErrors": []}}


def _free_shipping_problem(shop: Shop, d: dict[str, Any]) -> tuple[str, str, str] | None:
    # DiscountCodeFreeShippingInput: code, title, startsAt and context (or customerSelection).
    for key in ("title", "code", "startsAt"):
        if not d.get(key):
            return f"{key} can't be blank", "BLANK", key
    if "context" not in d and "customerSelection" not in d:
        return "context can't be blank", "BLANK", "context"
    if "customerGets" in d:  # not a field of this input: GraphQL refuses the variables
        return "customerGets is not defined on DiscountCodeFreeShippingInput", "INVALID", "input"
    destination = d.get("destination") or {}
    if not destination.get("all") and not destination.get("countries"):
        return "Destination must be set", "BLANK", "destination"
    if any(x["code"].lower() == d["code"].lower() for x in shop.discounts):
        return "Code must be unique. Please try a different code.", "TAKEN", "code"
    return None


def free_shipping_create(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    root = "discountCodeFreeShippingCreate"
    d = v.get("freeShippingCodeDiscount")
    if d is None:
        return {
            "errors": "Variable $freeShippingCodeDiscount of type DiscountCodeFreeShippingInput!"
        }
    if problem := _free_shipping_problem(shop, d):
        message, code, field = problem
        if code == "INVALID":
            return {"errors": message}
        return _user_error(root, message, code, field)
    node = {"id": fake.next_id("DiscountCodeNode"), "type": "free_shipping", **d}
    shop.discounts.append(node)
    return {root: {"codeDiscountNode": {"id": node["id"]}, "userErrors": []}}


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _matches(node: dict[str, Any], query: str) -> bool:
    for key, op, value in re.findall(r"(\w+):(>=|<=|>|<)?'?([^' ]+)'?", query or ""):
        field = {"updated_at": "updatedAt", "created_at": "createdAt"}.get(key)
        if field and op in (">=", ">") and _time(node[field]) < _time(value):
            return False
    return True


def abandoned(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    items = [n for n in shop.abandoned_checkouts if _matches(n, v.get("query", ""))]
    chunk, info = _page(items, v)
    return {"abandonedCheckouts": {"nodes": chunk, "pageInfo": info}}


def abandoned_count(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    items = [n for n in shop.abandoned_checkouts if _matches(n, v.get("query", ""))]
    return {"abandonedCheckoutsCount": {"count": len(items), "precision": "EXACT"}}


def nodes(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    ids = v.get("ids") or []
    if len(ids) > 250:
        return {"errors": "nodes accepts at most 250 ids"}
    return {"nodes": [shop.variants.get(i) for i in ids]}


EXTENSIONS = Path(__file__).resolve().parents[2] / "shopify_extension" / "extensions"
FLOW_PAYLOAD_LIMIT = 1_000_000  # bytes, per Shopify's (legacy) Flow guidelines


def deployed_flow_triggers() -> dict[str, set[str]]:
    """handle -> field keys of the app's flow_trigger extensions, as `shopify app deploy` sends."""
    found: dict[str, set[str]] = {}
    for toml in EXTENSIONS.glob("*/shopify.extension.toml"):
        config = tomllib.loads(toml.read_text())
        for extension in config.get("extensions", []):
            if extension.get("type") == "flow_trigger":
                fields = config.get("settings", {}).get("fields", [])
                found[extension["handle"]] = {f["key"] for f in fields if "key" in f}
    return found


def flow_trigger_receive(fake: FakeShopify, shop: Shop, v: dict[str, Any]) -> dict[str, Any]:
    """Flow checks the handle and that the payload carries exactly the trigger's fields."""
    root = "flowTriggerReceive"
    if "body" in v:
        return _user_error(root, "body is deprecated: send handle and payload", field="body")
    handle, payload = v.get("handle"), v.get("payload")
    triggers = deployed_flow_triggers()
    if handle not in triggers:
        return _user_error(root, f"Invalid handle '{handle}'", field="handle")
    if not isinstance(payload, dict):
        return _user_error(root, "payload must be a JSON object", field="payload")
    if len(json.dumps(payload)) > FLOW_PAYLOAD_LIMIT:
        return _user_error(root, "payload exceeds the size limit", field="payload")
    if set(payload) != triggers[handle]:
        missing, extra = triggers[handle] - set(payload), set(payload) - triggers[handle]
        return _user_error(
            root,
            f"Errors validating schema: missing {sorted(missing)}, unknown {sorted(extra)}",
            field="payload",
        )
    shop.flow_triggers.append({"handle": handle, "payload": payload})
    return {root: {"userErrors": []}}


RESOLVERS = {
    "shop": shop_info,
    "webhookSubscriptions": webhooks_list,
    "webhookSubscriptionCreate": webhook_create,
    "webhookSubscriptionDelete": webhook_delete,
    "webPixelCreate": pixel_create,
    "webPixel": pixel_find,
    "webPixelUpdate": pixel_update,
    "discountCodeBasicCreate": discount_create,
    "discountCodeFreeShippingCreate": free_shipping_create,
    "abandonedCheckouts": abandoned,
    "abandonedCheckoutsCount": abandoned_count,
    "nodes": nodes,
    "flowTriggerReceive": flow_trigger_receive,
}

"""Admin GraphQL `AbandonedCheckout` nodes into the canonical CheckoutInput (the backfill's shape)."""

from __future__ import annotations

import re
from typing import Any

from app.checkouts.schemas import CheckoutInput, ContactInput, LineItem, money, text
from app.core.timeutil import parse_datetime
from app.integrations.common import locale_tag

# https://{shop}/{shop_id}/checkouts/{token}/recover?key=... : the same token webhooks carry.
_TOKEN = re.compile(r"/checkouts/(?:[a-z]{2}/)?([A-Za-z0-9_-]+)/recover")

NODE_FIELDS = """
  id name abandonedCheckoutUrl createdAt updatedAt completedAt
  customer {
    id email phone firstName lastName locale
    emailMarketingConsent { marketingState }
    smsMarketingConsent { marketingState consentUpdatedAt }
  }
  shippingAddress { firstName lastName phone countryCodeV2 provinceCode city zip address1 }
  billingAddress { firstName lastName phone countryCodeV2 provinceCode city zip address1 }
  subtotalPriceSet { shopMoney { amount currencyCode } }
  totalPriceSet { shopMoney { amount currencyCode } }
  totalDiscountSet { shopMoney { amount } }
  totalTaxSet { shopMoney { amount } }
  discountCodes
  lineItems(first: 100) {
    nodes {
      title variantTitle sku quantity
      image { url }
      variant { id product { id onlineStoreUrl } }
      originalUnitPriceSet { shopMoney { amount } }
    }
  }
"""


def _numeric(gid: Any) -> str | None:
    return text(str(gid).rsplit("/", 1)[-1], 64) if gid else None


def _amount(node: dict[str, Any], key: str) -> Any:
    return ((node.get(key) or {}).get("shopMoney") or {}).get("amount")


def _consent(state: dict[str, Any] | None) -> bool | None:
    value = str((state or {}).get("marketingState") or "").upper()
    return (
        True if value == "SUBSCRIBED" else False if value in ("UNSUBSCRIBED", "REDACTED") else None
    )


def _contact(node: dict[str, Any]) -> ContactInput:
    customer = node.get("customer") or {}
    address = node.get("shippingAddress") or node.get("billingAddress") or {}
    sms = customer.get("smsMarketingConsent")
    return ContactInput(
        email=text(customer.get("email"), 320),
        phone=text(customer.get("phone") or address.get("phone"), 32),
        first_name=text(customer.get("firstName") or address.get("firstName")),
        last_name=text(customer.get("lastName") or address.get("lastName")),
        locale=locale_tag(customer.get("locale")),
        country=text(address.get("countryCodeV2"), 2),
        region=text(address.get("provinceCode"), 16),
        external_id=_numeric(customer.get("id")),
        email_consent=_consent(customer.get("emailMarketingConsent")),
        sms_consent=_consent(sms),
        sms_opted_out=_consent(sms) is False,
        consent_source="shopify_checkout",
        consent_at=parse_datetime((sms or {}).get("consentUpdatedAt")),
    )


def _items(node: dict[str, Any]) -> list[LineItem]:
    items = []
    for raw in (node.get("lineItems") or {}).get("nodes") or []:
        variant = raw.get("variant") or {}
        product = variant.get("product") or {}
        items.append(
            LineItem(
                title=text(raw.get("title"), 512) or "Item",
                variant_title=text(raw.get("variantTitle"), 512),
                sku=text(raw.get("sku"), 128),
                quantity=max(int(raw.get("quantity") or 1), 1),
                unit_price=money(_amount(raw, "originalUnitPriceSet")),
                product_id=_numeric(product.get("id")),
                variant_id=_numeric(variant.get("id")),
                image_url=text((raw.get("image") or {}).get("url"), 2048),
                product_url=text(product.get("onlineStoreUrl"), 2048),
            )
        )
    return items


def checkout(node: dict[str, Any]) -> CheckoutInput:
    url = text(node.get("abandonedCheckoutUrl"), 2048)
    found = _TOKEN.search(url or "")
    token = found.group(1) if found else _numeric(node.get("id"))
    if not token:
        raise ValueError("abandoned checkout has neither a recovery URL token nor an id")
    currency = ((node.get("totalPriceSet") or {}).get("shopMoney") or {}).get("currencyCode")
    address = node.get("shippingAddress") or node.get("billingAddress")
    return CheckoutInput(
        token=token,
        external_id=_numeric(node.get("id")),
        contact=_contact(node),
        currency=(text(currency, 3) or "USD").upper(),
        line_items=_items(node),
        subtotal=money(_amount(node, "subtotalPriceSet")),
        total_discounts=money(_amount(node, "totalDiscountSet")),
        total_tax=money(_amount(node, "totalTaxSet")),
        total=money(_amount(node, "totalPriceSet")),
        discount_codes=[str(c) for c in node.get("discountCodes") or []],
        recovery_url=url,
        locale=locale_tag((node.get("customer") or {}).get("locale")),
        address=address if isinstance(address, dict) else None,
        created_at=parse_datetime(node.get("createdAt")),
        updated_at=parse_datetime(node.get("updatedAt")),
        completed=bool(node.get("completedAt")),
    )

"""Our Magento module's cart.updated and order.placed documents into the canonical model."""

from __future__ import annotations

from typing import Any

from app.checkouts.schemas import (
    CheckoutInput,
    ContactInput,
    LineItem,
    OrderInput,
    money,
    text,
)
from app.core.timeutil import parse_datetime
from app.integrations.common import device_from_user_agent, locale_tag

CONSENT_SOURCE = "magento_module"
# Orders waiting for an off-site payment (redirect gateways), under review, or cancelled.
UNPAID_STATES = frozenset({"pending_payment", "payment_review", "canceled"})


def _object(payload: dict[str, Any], key: str) -> dict[str, Any]:
    value = payload.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} must be an object")
    return value


def _contact(payload: dict[str, Any]) -> ContactInput:
    customer = _object(payload, "customer")
    return ContactInput(
        email=text(customer.get("email"), 320),
        phone=text(customer.get("phone"), 32),
        first_name=text(customer.get("first_name")),
        last_name=text(customer.get("last_name")),
        country=text(customer.get("country"), 2),
        region=text(customer.get("state"), 16),
        consent_source=CONSENT_SOURCE,
    )


def _item(raw: dict[str, Any]) -> LineItem:
    return LineItem(
        title=text(raw.get("name"), 512) or "Item",
        sku=text(raw.get("sku"), 128),
        quantity=max(int(raw.get("quantity") or 1), 1),
        unit_price=money(raw.get("price")),
        product_id=text(raw.get("product_id"), 64),
        variant_id=text(raw.get("variation_id"), 64),
        product_url=text(raw.get("product_url"), 2048),
    )


def _codes(raw: Any) -> list[str]:
    return [str(code)[:64] for code in raw or [] if code] if isinstance(raw, list) else []


def cart_updated(payload: dict[str, Any]) -> CheckoutInput:
    """A quote with a reachable shopper: its restore token is the checkout's token."""
    cart = _object(payload, "cart")
    token = text(cart.get("restore_token"), 128)
    if not token:
        raise ValueError("cart.restore_token is required")
    items = cart.get("items") or []
    if not isinstance(items, list):
        raise ValueError("cart.items must be a list")
    return CheckoutInput(
        token=token,
        external_id=text(cart.get("quote_id"), 128),
        contact=_contact(payload),
        currency=(text(cart.get("currency"), 3) or "USD").upper(),
        line_items=[_item(i) for i in items if isinstance(i, dict)],
        subtotal=money(cart.get("subtotal")),
        total_discounts=money(cart.get("discount")),
        total_shipping=money(cart.get("shipping")),
        total_tax=money(cart.get("tax")),
        total=money(cart.get("total")),
        discount_codes=_codes(cart.get("coupons")),
        recovery_url=text(cart.get("recovery_url"), 2048),
        device=device_from_user_agent(text(payload.get("user_agent"), 1024)),
        locale=locale_tag(cart.get("locale")),
        updated_at=parse_datetime(payload.get("occurred_at")),
    )


def order_placed(payload: dict[str, Any]) -> OrderInput:
    """An order from checkout; orders still waiting for an off-site payment are not `placed`."""
    order = _object(payload, "order")
    cart = _object(payload, "cart")
    placed_at = parse_datetime(order.get("created_at") or payload.get("occurred_at"))
    if not order.get("id") or placed_at is None:
        raise ValueError("order.id and order.created_at are required")
    state = text(order.get("state"), 32)
    placed = order.get("placed")
    return OrderInput(
        external_id=str(order["id"])[:128],
        contact=_contact(payload),
        currency=(text(order.get("currency"), 3) or "USD").upper(),
        total=money(order.get("total")),
        placed_at=placed_at,
        checkout_token=text(cart.get("restore_token"), 128),
        discount_codes=_codes(order.get("coupons")),
        financial_status=state,
        placed=placed if isinstance(placed, bool) else state not in UNPAID_STATES,
    )

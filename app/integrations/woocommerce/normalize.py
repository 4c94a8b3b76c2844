"""WooCommerce native order webhooks and our plugin's cart events into the canonical model."""

from __future__ import annotations

from typing import Any

from app.checkouts.schemas import (
    CheckoutInput,
    ContactInput,
    ExitInput,
    LineItem,
    OrderInput,
    birthday,
    money,
    normalize_tags,
    text,
)
from app.core.timeutil import parse_datetime
from app.integrations.common import device_from_user_agent, locale_tag

# Statuses that mean the shopper committed to buy: cash on delivery and bank transfer land in
# on-hold or processing before any money moves, and still must stop reminders.
PLACED = frozenset({"processing", "completed", "on-hold"})
# WooCommerce's `pending` is "order received, no payment initiated, awaiting payment": an order
# placed and not paid (a payment reminder's), whose pay-for-order page is also kept as a checkout.
# `failed` keeps its checkout to return to; the order row records the failure.
AWAITING_PAYMENT = frozenset({"pending"})
UNPAID = frozenset({"pending", "failed"})


def _order_contact(payload: dict[str, Any]) -> ContactInput:
    billing = payload.get("billing") or {}
    return ContactInput(
        email=text(billing.get("email"), 320),
        phone=text(billing.get("phone"), 32),
        first_name=text(billing.get("first_name")),
        last_name=text(billing.get("last_name")),
        country=text(billing.get("country"), 2),
        region=text(billing.get("state"), 16),
        external_id=text(payload.get("customer_id") or None, 64),
        consent_source="woocommerce_order",
    )


def _gmt(payload: dict[str, Any], key: str) -> Any:
    # WooCommerce's *_gmt fields carry no offset but are UTC; the plain ones are site-local.
    return payload.get(f"{key}_gmt") or payload.get(key)


def order_token(payload: dict[str, Any]) -> str:
    return f"wc-order-{payload.get('id')}"


def native_order(payload: dict[str, Any]) -> list[CheckoutInput | OrderInput]:
    """Every status is an Order (placed for processing, completed, on-hold and pending; not for
    failed, cancelled, refunded); an unpaid one is first a checkout the shopper can return to."""
    status = str(payload.get("status") or "")
    contact = _order_contact(payload)
    placed_at = parse_datetime(_gmt(payload, "date_created"))
    if placed_at is None or payload.get("id") is None:
        raise ValueError("order needs id and date_created")
    found: list[CheckoutInput | OrderInput] = []
    if status in UNPAID:
        found.append(
            CheckoutInput(
                token=order_token(payload),
                external_id=text(payload.get("id"), 128),
                cart_token=text(payload.get("cart_hash"), 128),
                contact=contact,
                currency=(text(payload.get("currency"), 3) or "USD").upper(),
                line_items=[_native_item(item) for item in payload.get("line_items") or []],
                subtotal=money(payload.get("total"))
                - money(payload.get("shipping_total"))
                - money(payload.get("total_tax"))
                + money(payload.get("discount_total")),
                total_discounts=money(payload.get("discount_total")),
                total_shipping=money(payload.get("shipping_total")),
                total_tax=money(payload.get("total_tax")),
                total=money(payload.get("total")),
                discount_codes=[
                    str(c.get("code")) for c in payload.get("coupon_lines") or [] if c.get("code")
                ],
                recovery_url=text(payload.get("payment_url"), 2048),
                device=device_from_user_agent(payload.get("customer_user_agent")),
                address=payload.get("shipping") or payload.get("billing"),
                created_at=placed_at,
                updated_at=parse_datetime(_gmt(payload, "date_modified")),
            )
        )
    found.append(
        OrderInput(
            external_id=text(payload.get("id"), 128) or "",
            contact=contact,
            currency=(text(payload.get("currency"), 3) or "USD").upper(),
            total=money(payload.get("total")),
            placed_at=placed_at,
            checkout_token=order_token(payload),
            cart_token=text(payload.get("cart_hash"), 128),
            discount_codes=[
                str(c.get("code")) for c in payload.get("coupon_lines") or [] if c.get("code")
            ],
            financial_status=status,
            placed=status in PLACED | AWAITING_PAYMENT,
        )
    )
    return found


def _native_item(raw: dict[str, Any]) -> LineItem:
    quantity = max(int(raw.get("quantity") or 1), 1)
    variant = ", ".join(
        str(m.get("display_value"))
        for m in raw.get("meta_data") or []
        if isinstance(m, dict) and m.get("display_value")
    )
    return LineItem(
        title=text(raw.get("parent_name") or raw.get("name"), 512) or "Item",
        variant_title=variant or None,
        sku=text(raw.get("sku"), 128),
        quantity=quantity,
        unit_price=money(raw.get("subtotal")) / quantity
        if raw.get("subtotal")
        else money(raw.get("price")),
        product_id=text(raw.get("product_id"), 64),
        variant_id=text(raw.get("variation_id") or None, 64),
        image_url=text((raw.get("image") or {}).get("src"), 2048),
    )


def _plugin_contact(customer: dict[str, Any]) -> ContactInput:
    return ContactInput(
        email=text(customer.get("email"), 320),
        phone=text(customer.get("phone"), 32),
        first_name=text(customer.get("first_name")),
        last_name=text(customer.get("last_name")),
        country=text(customer.get("country"), 2),
        region=text(customer.get("state"), 16),
        timezone=text(customer.get("timezone"), 64),
        email_consent=customer.get("email_consent")
        if isinstance(customer.get("email_consent"), bool)
        else None,
        sms_consent=customer.get("sms_consent")
        if isinstance(customer.get("sms_consent"), bool)
        else None,
        consent_source="woocommerce_plugin",
        locale=locale_tag(customer.get("locale")),
        birthday=birthday(customer.get("birthday")),  # the plugin's field or the user meta
        tags=normalize_tags(customer.get("tags")),
    )


def plugin_exit(payload: dict[str, Any]) -> ExitInput:
    """The plugin saw the shopper leave the checkout page (its script's pagehide)."""
    token = text((payload.get("cart") or {}).get("restore_token"), 128)
    if not token:
        raise ValueError("cart.restore_token is required")
    return ExitInput(token=token, exited_at=parse_datetime(payload.get("occurred_at")))


def plugin_cart(payload: dict[str, Any]) -> CheckoutInput:
    cart = payload.get("cart") or {}
    token = text(cart.get("restore_token"), 128)
    if not token:
        raise ValueError("cart.restore_token is required")
    items = [
        LineItem(
            title=text(i.get("name"), 512) or "Item",
            variant_title=text(i.get("variant"), 512),
            sku=text(i.get("sku"), 128),
            quantity=max(int(i.get("quantity") or 1), 1),
            unit_price=money(i.get("price")),
            product_id=text(i.get("product_id"), 64),
            variant_id=text(i.get("variation_id") or None, 64),
            image_url=text(i.get("image_url"), 2048),
            product_url=text(i.get("product_url"), 2048),
        )
        for i in cart.get("items") or []
        if isinstance(i, dict)
    ]
    return CheckoutInput(
        token=token,
        cart_token=text(cart.get("cart_hash"), 128),
        contact=_plugin_contact(payload.get("customer") or {}),
        currency=(text(cart.get("currency"), 3) or "USD").upper(),
        line_items=items,
        subtotal=money(cart.get("subtotal")),
        total_discounts=money(cart.get("discount")),
        total_shipping=money(cart.get("shipping")),
        total_tax=money(cart.get("tax")),
        total=money(cart.get("total")),
        discount_codes=[str(c) for c in cart.get("coupons") or []],
        recovery_url=text(cart.get("recovery_url"), 2048),
        device=text(payload.get("device"), 16) or "unknown",
        locale=locale_tag(cart.get("locale")),
        updated_at=parse_datetime(payload.get("occurred_at")),
    )


def plugin_order(payload: dict[str, Any]) -> OrderInput:
    order = payload.get("order") or {}
    cart = payload.get("cart") or {}
    placed_at = parse_datetime(order.get("created_at") or payload.get("occurred_at"))
    if not order.get("id") or placed_at is None:
        raise ValueError("order.id and order.created_at are required")
    status = str(order.get("status") or "processing")
    # The plugin says whether the order counts as placed (cash on delivery can still be pending);
    # older plugin versions send only the status.
    sent = order.get("placed")
    placed = sent if isinstance(sent, bool) else status in PLACED
    return OrderInput(
        external_id=str(order["id"])[:128],
        contact=_plugin_contact(payload.get("customer") or {}),
        currency=(text(order.get("currency") or cart.get("currency"), 3) or "USD").upper(),
        total=money(order.get("total")),
        placed_at=placed_at,
        checkout_token=text(cart.get("restore_token"), 128),
        cart_token=text(cart.get("cart_hash"), 128),
        discount_codes=[str(c) for c in order.get("coupons") or []],
        financial_status=status,
        placed=placed,
    )

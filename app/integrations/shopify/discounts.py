"""Single-use, expiring Shopify codes for recovery and the inbox.

`discountCodeBasicCreate` for an amount or percentage off, `discountCodeFreeShippingCreate` for free
shipping (DiscountCodeFreeShippingInput: `code`, `title`, `startsAt` and `context` required,
`destination` says which countries).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.core.logging import ctx
from app.integrations.shopify.client import AdminClient, UserErrors
from app.stores.models import Store

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Mutation:
    """One of Shopify's code-discount create mutations: its root field, argument and input type."""

    root: str
    argument: str
    input_type: str

    @property
    def query(self) -> str:
        return f"""
mutation FollowUpDiscount(${self.argument}: {self.input_type}!) {{
  {self.root}({self.argument}: ${self.argument}) {{
    codeDiscountNode {{ id }}
    userErrors {{ field code message }}
  }}
}}"""


BASIC = Mutation("discountCodeBasicCreate", "basicCodeDiscount", "DiscountCodeBasicInput")
FREE_SHIPPING = Mutation(
    "discountCodeFreeShippingCreate", "freeShippingCodeDiscount", "DiscountCodeFreeShippingInput"
)


class DiscountError(RuntimeError):
    """Shopify refused the discount (code taken, bad value...); `errors` are its userErrors."""

    def __init__(self, message: str, errors: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or []


def _value(percentage: Decimal | None, amount: Decimal | None) -> dict[str, Any]:
    if (percentage is None) == (amount is None):
        raise ValueError("give exactly one of percentage (0..1) or amount")
    if percentage is not None:
        if not Decimal(0) < percentage <= Decimal(1):
            raise ValueError(f"percentage must be in (0, 1], as Shopify expects: got {percentage}")
        # GraphQL Float: a ratio, not money, so the float is exact enough (0.15 stays 0.15).
        return {"percentage": float(percentage)}
    assert amount is not None
    if amount <= 0:
        raise ValueError(f"amount must be positive: got {amount}")
    return {"discountAmount": {"amount": str(amount), "appliesOnEachItem": False}}


def _one_shopper(
    code: str,
    title: str,
    minimum_subtotal: Decimal | None,
    starts_at: datetime,
    ends_at: datetime,
    *,
    with_shipping_discounts: bool,
) -> dict[str, Any]:
    """Fields both inputs share: one use in total, once per customer, expiring, used alone (a
    basic code may still combine with a shipping discount)."""
    if ends_at <= starts_at:
        raise ValueError("ends_at must be after starts_at")
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        raise ValueError("starts_at and ends_at must be timezone-aware")
    data: dict[str, Any] = {
        "title": title[:255],
        "code": code,
        "startsAt": starts_at.isoformat(),
        "endsAt": ends_at.isoformat(),
        "context": {"all": "ALL"},
        "usageLimit": 1,
        "appliesOncePerCustomer": True,
        "combinesWith": {
            "orderDiscounts": False,
            "productDiscounts": False,
            "shippingDiscounts": with_shipping_discounts,
        },
    }
    if minimum_subtotal is not None:
        data["minimumRequirement"] = {
            "subtotal": {"greaterThanOrEqualToSubtotal": str(minimum_subtotal)}
        }
    return data


def free_shipping_input(
    *,
    code: str,
    title: str,
    minimum_subtotal: Decimal | None,
    starts_at: datetime,
    ends_at: datetime,
) -> dict[str, Any]:
    """DiscountCodeFreeShippingInput for one shopper, to every country."""
    data = _one_shopper(
        code, title, minimum_subtotal, starts_at, ends_at, with_shipping_discounts=False
    )
    data["destination"] = {"all": True}
    return data


def discount_input(
    *,
    code: str,
    title: str,
    percentage: Decimal | None,
    amount: Decimal | None,
    minimum_subtotal: Decimal | None,
    starts_at: datetime,
    ends_at: datetime,
) -> dict[str, Any]:
    """DiscountCodeBasicInput for one shopper: a percentage or an amount off every item."""
    data = _one_shopper(
        code, title, minimum_subtotal, starts_at, ends_at, with_shipping_discounts=True
    )
    data["customerGets"] = {"value": _value(percentage, amount), "items": {"all": True}}
    return data


async def create_discount(
    store: Store,
    *,
    code: str,
    title: str,
    percentage: Decimal | None = None,
    amount: Decimal | None = None,
    minimum_subtotal: Decimal | None = None,
    starts_at: datetime,
    ends_at: datetime,
) -> str:
    """Create the code on the shop and return its discount node id (`gid://shopify/DiscountCodeNode/…`)."""
    basic = discount_input(
        code=code,
        title=title,
        percentage=percentage,
        amount=amount,
        minimum_subtotal=minimum_subtotal,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return await _create(store, BASIC, basic)


async def create_free_shipping_discount(
    store: Store,
    *,
    code: str,
    title: str,
    minimum_subtotal: Decimal | None = None,
    starts_at: datetime,
    ends_at: datetime,
) -> str:
    """Create a single-use free-shipping code and return its discount node id."""
    data = free_shipping_input(
        code=code,
        title=title,
        minimum_subtotal=minimum_subtotal,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return await _create(store, FREE_SHIPPING, data)


async def _create(store: Store, mutation: Mutation, data: dict[str, Any]) -> str:
    """Run one create mutation with its input; Shopify's userErrors become a DiscountError."""
    variables = {mutation.argument: data}
    try:
        async with AdminClient(store) as admin:
            result = await admin.mutate(mutation.query, variables, mutation.root)
    except UserErrors as exc:
        code = data["code"]
        raise DiscountError(f"Shopify refused discount {code!r}: {exc}", exc.errors) from None
    node_id = str(result["codeDiscountNode"]["id"])
    log.info("shopify discount created", extra=ctx(store=store.id, discount=node_id))
    return node_id

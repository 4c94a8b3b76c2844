"""JSON API for checkouts, always scoped to the store that owns the bearer token."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter

from app.checkouts.models import Checkout, CheckoutStatus
from app.checkouts.schemas import CheckoutOut, CheckoutPage, LineItemOut, NextStepOut
from app.core.errors import ApiError
from app.core.money import quantize
from app.stores.auth import api_store
from app.stores.models import Store


def to_out(checkout: Checkout) -> CheckoutOut:
    cur = checkout.currency
    items = [
        LineItemOut(
            title=i.get("title", ""),
            quantity=int(i.get("quantity", 1)),
            unit_price=quantize(Decimal(i.get("unit_price", "0")), cur),
            line_total=quantize(Decimal(i.get("line_total", "0")), cur),
            variant_title=i.get("variant_title"),
            sku=i.get("sku"),
            image_url=i.get("image_url"),
            product_url=i.get("product_url"),
        )
        for i in checkout.line_items or []
    ]
    return CheckoutOut(
        id=checkout.id,
        platform=checkout.platform,
        token=checkout.token,
        status=str(checkout.status),
        email=checkout.email,
        phone=checkout.phone,
        reachable=checkout.reachable,
        currency=checkout.currency,
        subtotal=quantize(checkout.subtotal, cur),
        total_discounts=quantize(checkout.total_discounts, cur),
        total_shipping=quantize(checkout.total_shipping, cur),
        total_tax=quantize(checkout.total_tax, cur),
        total=quantize(checkout.total, cur),
        line_items=items,
        recovery_url=checkout.recovery_url,
        device=checkout.device,
        last_activity_at=checkout.last_activity_at,
        abandoned_at=checkout.abandoned_at,
        completed_at=checkout.completed_at,
        created_at=checkout.created_at,
        phone_invalid_reason=checkout.phone_invalid_reason,
        discount_codes=checkout.discount_codes or [],
    )


# What goes out next for each checkout, by checkout id: recovery answers it. The composition
# root provides it as the `next_steps` dependency, so checkouts never import recovery.
NextSteps = Callable[[list[Checkout]], Awaitable[dict[int, dict[str, Any]]]]


async def _with_next_steps(checkouts: list[Checkout], next_steps: NextSteps) -> list[CheckoutOut]:
    """Each checkout with the recovery step that goes out next, when one is running."""
    steps = await next_steps(checkouts)
    out = [to_out(c) for c in checkouts]
    for item in out:
        if step := steps.get(item.id):
            at = datetime.fromisoformat(step["at"])
            item.next_step = NextStepOut(
                step["channel"], at, step["local_time"], step["zone"], step["reason"]
            )
    return out


def _decode_cursor(cursor: str) -> int:
    try:
        return int(base64.urlsafe_b64decode(cursor.encode() + b"==").decode())
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "bad_cursor", "cursor is not one this API returned") from None


def _encode_cursor(last_id: int) -> str:
    return base64.urlsafe_b64encode(str(last_id).encode()).rstrip(b"=").decode()


class CheckoutsApi(Controller):
    path = "/api/v1/checkouts"
    tags = ["checkouts"]
    dependencies = {"store": Provide(api_store)}

    @get("/", summary="List checkouts, newest first")
    async def list_checkouts(
        self,
        store: Store,
        next_steps: NextSteps,
        status: CheckoutStatus | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
    ) -> CheckoutPage:
        query = Checkout.filter(store=store)
        if status:
            query = query.filter(status=status)
        if cursor:
            query = query.filter(id__lt=_decode_cursor(cursor))
        rows = await query.order_by("-id").limit(limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        return CheckoutPage(
            items=await _with_next_steps(rows, next_steps),
            next_cursor=_encode_cursor(rows[-1].id) if more and rows else None,
        )

    @get("/{checkout_id:int}", summary="One checkout")
    async def get_checkout(
        self, store: Store, next_steps: NextSteps, checkout_id: int
    ) -> CheckoutOut:
        checkout = await Checkout.get_or_none(id=checkout_id, store=store)
        if checkout is None:
            raise ApiError(404, "not_found", f"no checkout {checkout_id} in this store")
        return (await _with_next_steps([checkout], next_steps))[0]

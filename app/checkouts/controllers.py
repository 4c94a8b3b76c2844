"""JSON API for checkouts, always scoped to the store that owns the bearer token."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import Parameter
from tortoise.expressions import Q
from tortoise.queryset import QuerySet

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
        recovery_score=checkout.recovery_score,
        expected_value=(
            quantize(checkout.expected_value, cur) if checkout.expected_value is not None else None
        ),
        score_source=checkout.score_source,
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


# `sort`: newest first (by id), or highest predicted score / expected value first. A score sort
# lists scored checkouts only (abandoned ones), keyed on (value, id) so pages never skip or repeat.
Sort = Literal["newest", "score", "expected_value"]
SORT_FIELDS = {"score": "recovery_score", "expected_value": "expected_value"}


def _decode_cursor(cursor: str) -> tuple[Decimal | None, int]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
        value, _, last_id = text.rpartition("|")
        return (Decimal(value) if value else None), int(last_id)
    except (ValueError, UnicodeDecodeError, ArithmeticError):
        raise ApiError(400, "bad_cursor", "cursor is not one this API returned") from None


def _encode_cursor(last_id: int, value: Decimal | None = None) -> str:
    text = f"{value}|{last_id}" if value is not None else str(last_id)
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def _sorted(query: QuerySet[Checkout], sort: Sort, cursor: str | None) -> QuerySet[Checkout]:
    field = SORT_FIELDS.get(sort)
    after = _decode_cursor(cursor) if cursor else None
    if field is None:
        return query.filter(id__lt=after[1]) if after else query
    query = query.filter(**{f"{field}__isnull": False})
    if after:
        value, last_id = after
        if value is None:
            raise ApiError(400, "bad_cursor", "cursor is not one this API returned")
        below: dict[str, Any] = {f"{field}__lt": value}
        tied: dict[str, Any] = {field: value, "id__lt": last_id}
        query = query.filter(Q(**below) | Q(**tied))
    return query


def _order(sort: Sort) -> tuple[str, ...]:
    field = SORT_FIELDS.get(sort)
    return (f"-{field}", "-id") if field else ("-id",)


class CheckoutsApi(Controller):
    path = "/api/v1/checkouts"
    tags = ["checkouts"]
    dependencies = {"store": Provide(api_store)}

    @get("/", summary="List checkouts, newest first or by predicted score (`sort`)")
    async def list_checkouts(
        self,
        store: Store,
        next_steps: NextSteps,
        status: CheckoutStatus | None = None,
        cursor: str | None = None,
        limit: Annotated[int, Parameter(ge=1, le=200)] = 50,
        sort: Sort = "newest",
    ) -> CheckoutPage:
        query = Checkout.filter(store=store)
        if status:
            query = query.filter(status=status)
        rows = await _sorted(query, sort, cursor).order_by(*_order(sort)).limit(limit + 1)
        more = len(rows) > limit
        rows = rows[:limit]
        field = SORT_FIELDS.get(sort)
        last = rows[-1] if more and rows else None
        return CheckoutPage(
            items=await _with_next_steps(rows, next_steps),
            next_cursor=_encode_cursor(last.id, getattr(last, field) if field else None)
            if last
            else None,
        )

    @get("/{checkout_id:int}", summary="One checkout")
    async def get_checkout(
        self, store: Store, next_steps: NextSteps, checkout_id: int
    ) -> CheckoutOut:
        checkout = await Checkout.get_or_none(id=checkout_id, store=store)
        if checkout is None:
            raise ApiError(404, "not_found", f"no checkout {checkout_id} in this store")
        return (await _with_next_steps([checkout], next_steps))[0]

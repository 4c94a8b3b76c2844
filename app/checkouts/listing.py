"""The Checkouts page's list: one store's abandoned carts, filtered, searched and keyset-paged.

Pages are keyed on (abandoned_at, id), or (recovery_score, id) by score, never on an offset: a cart
abandoned while someone pages sorts above their cursor, so pages neither repeat nor skip a row.
The stats' index on checkout (store_id, abandoned_at) (analytics migration 0002) serves the walk.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from app.checkouts.models import Checkout, CheckoutStatus
from app.core.errors import ApiError

# Filter value -> what it selects; "stopped" is an abandoned cart whose follow-ups were stopped.
STATUSES: dict[str, dict[str, Any]] = {
    "abandoned": {"status": CheckoutStatus.ABANDONED},
    "stopped": {"status": CheckoutStatus.ABANDONED, "enrollment__status": "stopped"},
    "recovered": {"status": CheckoutStatus.RECOVERED},
    "ordered": {"status": CheckoutStatus.COMPLETED},
    "expired": {"status": CheckoutStatus.EXPIRED},
}
CHANNELS = ("sms", "email")
SORTS = ("time", "score")
PAGE_SIZE = 25
HIGH_VALUE_SHARE = 5  # "high value": the top fifth of the store's carts by expected value


@dataclass(frozen=True, slots=True)
class Filters:
    status: str = ""
    channel: str = ""
    min_score: int | None = None
    max_score: int | None = None
    high_value: bool = False
    q: str = ""
    sort: str = "time"
    cursor: str = ""

    @property
    def active(self) -> bool:
        """Whether anything narrows the list (the empty state says which kind of empty)."""
        return bool(self.status or self.channel or self.q or self.high_value) or (
            self.min_score is not None or self.max_score is not None
        )


def _choice(params: Mapping[str, str], name: str, allowed: tuple[str, ...]) -> str:
    value = params.get(name, "").strip()
    if value and value not in allowed:
        raise ApiError(400, "bad_filter", f"{name} must be one of: {', '.join(allowed)}")
    return value


def _percent(params: Mapping[str, str], name: str) -> int | None:
    value = params.get(name, "").strip().rstrip("%")
    if not value:
        return None
    if not value.isdigit() or int(value) > 100:
        raise ApiError(400, "bad_filter", f"{name} is a whole percentage from 0 to 100")
    return int(value)


def parse(params: Mapping[str, str]) -> Filters:
    """The query string as filters, or a 400 that says which value is wrong and why."""
    low, high = _percent(params, "min_score"), _percent(params, "max_score")
    if low is not None and high is not None and low > high:
        raise ApiError(400, "bad_filter", "min_score is above max_score")
    q = params.get("q", "").strip()
    if len(q) > 100:
        raise ApiError(400, "bad_filter", "search is at most 100 characters")
    cursor = params.get("cursor", "").strip()
    sort = _choice(params, "sort", SORTS) or "time"
    if cursor:
        decode_cursor(cursor, sort)
    return Filters(
        status=_choice(params, "status", tuple(STATUSES)),
        channel=_choice(params, "channel", CHANNELS),
        min_score=low,
        max_score=high,
        high_value=_choice(params, "high_value", ("1",)) == "1",
        q=q,
        sort=sort,
        cursor=cursor,
    )


def encode_cursor(row: Checkout, sort: str) -> str:
    at = row.abandoned_at
    key = str(row.recovery_score) if sort == "score" else (at.isoformat() if at else "")
    return base64.urlsafe_b64encode(f"{key}|{row.id}".encode()).rstrip(b"=").decode()


def decode_cursor(cursor: str, sort: str) -> tuple[Any, int]:
    try:
        text = base64.urlsafe_b64decode(cursor.encode() + b"==").decode()
        key, _, last_id = text.rpartition("|")
        value: Any = Decimal(key) if sort == "score" else datetime.fromisoformat(key)
        if sort != "score" and value.tzinfo is None:
            raise ValueError("naive time")
        return value, int(last_id)
    except (ValueError, UnicodeDecodeError, InvalidOperation):
        raise ApiError(
            400, "bad_cursor", "this page link is broken: start again from the first page"
        ) from None


def _search(q: str) -> Q:
    query = Q()
    for term in q.split()[:5]:
        digits = "".join(ch for ch in term if ch.isdigit())
        term_q = (
            Q(email__icontains=term)
            | Q(contact__email__icontains=term)
            | Q(contact__first_name__icontains=term)
            | Q(contact__last_name__icontains=term)
        )
        if len(digits) >= 3:
            term_q |= Q(phone__contains=digits) | Q(contact__phone__contains=digits)
        query &= term_q
    return query


async def high_value_floor(store_id: int) -> Decimal | None:
    """The expected value a cart needs to be in the store's top fifth (None: nothing scored)."""
    scored = Checkout.filter(
        store_id=store_id, abandoned_at__isnull=False, expected_value__isnull=False
    )
    count = await scored.count()
    if not count:
        return None
    row = (
        await scored.order_by("-expected_value", "-id")
        .offset((count - 1) // HIGH_VALUE_SHARE)
        .first()
    )
    return row.expected_value if row else None


async def _narrowed(store_id: int, f: Filters) -> QuerySet[Checkout]:
    query = Checkout.filter(store_id=store_id, abandoned_at__isnull=False)
    if f.status:
        query = query.filter(**STATUSES[f.status])
    if f.channel == "sms":
        query = query.filter(contact__sms_consent=True, contact__sms_opted_out_at__isnull=True)
    elif f.channel == "email":
        query = query.filter(contact__email_consent=True, contact__email_opted_out_at__isnull=True)
    if f.min_score is not None:
        query = query.filter(recovery_score__gte=Decimal(f.min_score) / 100)
    if f.max_score is not None:
        query = query.filter(recovery_score__lte=Decimal(f.max_score) / 100)
    if f.high_value:
        floor = await high_value_floor(store_id)
        query = (
            query.filter(expected_value__gte=floor)
            if floor is not None
            else query.filter(id__in=[])
        )
    if f.q:
        query = query.filter(_search(f.q))
    if f.sort == "score":
        query = query.filter(recovery_score__isnull=False)
    return query


def _after(query: QuerySet[Checkout], f: Filters) -> QuerySet[Checkout]:
    if not f.cursor:
        return query
    value, last_id = decode_cursor(f.cursor, f.sort)
    field = "recovery_score" if f.sort == "score" else "abandoned_at"
    below: dict[str, Any] = {f"{field}__lt": value}
    tied: dict[str, Any] = {field: value, "id__lt": last_id}
    return query.filter(Q(**below) | Q(**tied))


async def page(store_id: int, f: Filters, size: int = PAGE_SIZE) -> tuple[list[Checkout], str]:
    """One page of the store's carts and the cursor of the next ("" on the last page)."""
    order = ("-recovery_score", "-id") if f.sort == "score" else ("-abandoned_at", "-id")
    query = _after(await _narrowed(store_id, f), f)
    rows = await query.order_by(*order).limit(size + 1).prefetch_related("contact")
    following = encode_cursor(rows[size - 1], f.sort) if len(rows) > size else ""
    return rows[:size], following

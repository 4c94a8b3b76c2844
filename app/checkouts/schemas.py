"""Canonical inputs: what every normalizer produces and the only shapes the services accept."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import msgspec


def money(value: Any) -> Decimal:
    """Parse a price from any source without ever passing through float."""
    if value is None or value == "":
        return Decimal("0")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"not an amount: {value!r}") from None
    if not amount.is_finite():
        raise ValueError(f"not an amount: {value!r}")
    return amount


def plain(value: Any) -> Any:
    """JSON-safe copy of parsed JSON whose numbers were read as Decimal."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


UNKNOWN_YEAR = 1904  # a leap year, so 29 February survives when only day and month are known


def birthday(value: Any) -> date | None:
    """`YYYY-MM-DD`, `MM-DD` or `--MM-DD` (vCard's form without a year); None when unreadable."""
    raw = str(value or "").strip()[:10]
    if raw.startswith("--"):
        raw = raw[2:]
    if len(raw) == 5:
        raw = f"{UNKNOWN_YEAR}-{raw}"
    try:
        found = date.fromisoformat(raw)
    except ValueError:
        return None
    return found if 1900 <= found.year <= date.today().year else None


MAX_TAGS = 50
MAX_TAG_LENGTH = 64


def normalize_tags(raw: object) -> list[str] | None:
    """Tags from any source (Shopify's "VIP, wholesale", a plugin's or a trait's list) as the
    stored form: lower case, inner whitespace collapsed, at most 64 characters each, no empties or
    duplicates, sorted, at most 50 (the first 50 in sorted order). None when the source said
    nothing about tags (so the contact's tags are left alone)."""
    if raw is None:
        return None
    if isinstance(raw, str):
        parts: Iterable[object] = raw.split(",")
    elif isinstance(raw, list | tuple):
        parts = raw
    else:
        return None
    found = {_tag(p) for p in list(parts)[:1000] if isinstance(p, str | int) and p is not True}
    found -= {_tag(False)}
    found.discard("")
    return sorted(found)[:MAX_TAGS]


def _tag(value: object) -> str:
    text = unicodedata.normalize("NFKC", str(value))
    return " ".join(text.split()).lower()[:MAX_TAG_LENGTH].strip()


def text(value: Any, limit: int = 255) -> str | None:
    if value is None:
        return None
    result = str(value).strip()
    return result[:limit] or None


@dataclass(slots=True)
class LineItem:
    title: str
    quantity: int
    unit_price: Decimal
    variant_title: str | None = None
    sku: str | None = None
    product_id: str | None = None
    variant_id: str | None = None
    image_url: str | None = None
    product_url: str | None = None

    def as_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["unit_price"] = str(self.unit_price)
        data["line_total"] = str(self.unit_price * self.quantity)
        return data


@dataclass(slots=True)
class ContactInput:
    email: str | None = None
    phone: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    locale: str | None = None
    timezone: str | None = None
    country: str | None = None
    region: str | None = None
    external_id: str | None = None
    email_consent: bool | None = None
    sms_consent: bool | None = None
    sms_opted_out: bool = False
    withdrawn: tuple[str, ...] = ()
    """Channels whose marketing consent the source says was withdrawn (a Shopify customer's
    `unsubscribed`): consent cleared, nothing else; `sms_opted_out` is the carrier STOP."""
    consent_source: str = "checkout"
    consent_at: datetime | None = None
    birthday: date | None = None
    tags: list[str] | None = None
    """Normalised (`normalize_tags`); None when the source says nothing about tags."""

    @property
    def empty(self) -> bool:
        return not (self.email or self.phone)


@dataclass(slots=True)
class CheckoutInput:
    token: str
    contact: ContactInput
    currency: str
    line_items: list[LineItem] = field(default_factory=list)
    external_id: str | None = None
    cart_token: str | None = None
    visitor_id: str | None = None
    user_id: str | None = None
    """The source's id for a signed-in shopper (Segment userId), shared by all their devices."""
    subtotal: Decimal = Decimal("0")
    total_discounts: Decimal = Decimal("0")
    total_shipping: Decimal = Decimal("0")
    total_tax: Decimal = Decimal("0")
    total: Decimal = Decimal("0")
    discount_codes: list[str] = field(default_factory=list)
    recovery_url: str | None = None
    device: str = "unknown"
    locale: str | None = None
    address: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed: bool = False
    deleted: bool = False


@dataclass(slots=True)
class OrderInput:
    external_id: str
    contact: ContactInput
    currency: str
    total: Decimal
    placed_at: datetime
    checkout_token: str | None = None
    cart_token: str | None = None
    presentment_currency: str | None = None
    presentment_total: Decimal | None = None
    discount_codes: list[str] = field(default_factory=list)
    financial_status: str | None = None
    placed: bool = True
    """False for orders that do not count as a purchase (pending payment, failed, cancelled)."""


@dataclass(slots=True)
class IdentifyInput:
    """Who a visitor is, often learned before any checkout exists (Segment `identify`)."""

    contact: ContactInput
    visitor_id: str | None = None
    user_id: str | None = None


@dataclass(slots=True)
class AliasInput:
    """Segment `alias`: an earlier id (anonymous, or an old user id) is now this user id."""

    previous_id: str
    user_id: str


@dataclass(slots=True)
class ExitInput:
    """The shopper left the checkout page (snippet `pagehide`, plugin, Shopify pixel)."""

    token: str
    exited_at: datetime | None = None


Normalized = CheckoutInput | OrderInput | IdentifyInput | AliasInput | ExitInput


# --- API representations -------------------------------------------------------------------


class LineItemOut(msgspec.Struct):
    title: str
    quantity: int
    unit_price: Decimal
    line_total: Decimal
    variant_title: str | None = None
    sku: str | None = None
    image_url: str | None = None
    product_url: str | None = None


class NextStepOut(msgspec.Struct):
    """The recovery step that goes out next: channel, when (UTC and the shopper's own clock),
    and why it is later than its delay (e.g. "quiet hours")."""

    channel: str
    at: datetime
    local_time: str
    zone: str
    reason: str | None = None


class CheckoutOut(msgspec.Struct):
    id: int
    platform: str
    token: str
    status: str
    email: str | None
    phone: str | None
    reachable: bool
    currency: str
    subtotal: Decimal
    total_discounts: Decimal
    total_shipping: Decimal
    total_tax: Decimal
    total: Decimal
    line_items: list[LineItemOut]
    recovery_url: str | None
    device: str
    last_activity_at: datetime
    abandoned_at: datetime | None
    completed_at: datetime | None
    created_at: datetime
    phone_invalid_reason: str | None = None
    discount_codes: list[str] = msgspec.field(default_factory=list)
    next_step: NextStepOut | None = None
    recovery_score: Decimal | None = None
    """Predicted likelihood of recovery, 0 to 1 (docs/scoring.md); set once abandoned."""
    expected_value: Decimal | None = None
    """recovery_score times the total, in `currency`."""
    score_source: str | None = None
    """`model` (learned from the store's history) or `prior` (too little history yet)."""


class CheckoutPage(msgspec.Struct):
    items: list[CheckoutOut]
    next_cursor: str | None

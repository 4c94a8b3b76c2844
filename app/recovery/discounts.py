"""Incentives: one code per shopper from Shopify, our WooCommerce plugin, a merchant pool, or a static code."""

from __future__ import annotations

import importlib
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, Protocol

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from app.core.logging import ctx
from app.core.money import format_money
from app.recovery.models import DiscountCode, DiscountKind, Enrollment
from app.recovery.templates import Discount
from app.stores.models import Platform, Store

log = logging.getLogger(__name__)
SOURCES = ("auto", "shopify", "woocommerce", "pool", "static")
KINDS = ("percentage", "fixed_amount", "free_shipping")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes get typed by hand
_ISSUED_KINDS = {
    "percentage": DiscountKind.PERCENTAGE,
    "fixed_amount": DiscountKind.FIXED_AMOUNT,
    "free_shipping": DiscountKind.FREE_SHIPPING,
}


class NoCode(Exception):
    """Why an issuer made no code, in words for the merchant; the message goes out without one."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Incentive:
    source: str
    kind: str
    value: Decimal | None
    min_total: Decimal
    expires_hours: int
    code: str | None = None

    @classmethod
    def parse(cls, raw: dict[str, Any]) -> Incentive:
        return cls(
            source=str(raw.get("source", "auto")),
            kind=str(raw.get("kind", "percentage")),
            value=Decimal(str(raw["value"])) if raw.get("value") not in (None, "") else None,
            min_total=Decimal(str(raw.get("min_total") or 0)),
            expires_hours=int(raw.get("expires_hours", 48)),
            code=str(raw["code"]).strip().upper() if raw.get("code") else None,
        )


def validate_incentive(raw: dict[str, Any]) -> list[tuple[str, str]]:
    """Problems as (field, message), so the flow API can name `steps[i].incentive.<field>`."""
    if not isinstance(raw, dict):
        return [("", 'must be an object like {"kind": "percentage", "value": "10"}')]
    try:
        spec = Incentive.parse(raw)
    except (ArithmeticError, ValueError, TypeError) as exc:
        return [("", f"unreadable incentive: {exc}")]
    problems: list[tuple[str, str]] = []
    if spec.source not in SOURCES:
        problems.append(("source", f"must be one of {', '.join(SOURCES)}"))
    if spec.kind not in KINDS:
        problems.append(("kind", f"must be one of {', '.join(KINDS)}"))
    if spec.kind == "free_shipping":
        if spec.value is not None:
            problems.append(("value", "a free_shipping incentive takes no value"))
    elif spec.source in ("auto", "shopify", "woocommerce") and (
        spec.value is None or spec.value <= 0
    ):
        problems.append(("value", "must be a positive amount"))
    if spec.kind == "percentage" and spec.value is not None and spec.value > 100:
        problems.append(("value", "a percentage discount cannot exceed 100"))
    if spec.min_total < 0:
        problems.append(("min_total", "cannot be negative"))
    if spec.source == "static" and not spec.code:
        problems.append(("code", "a static incentive needs its code"))
    if not 1 <= spec.expires_hours <= 24 * 60:
        problems.append(("expires_hours", "must be between 1 and 1440"))
    return problems


def label(kind: str, value: Decimal | None, currency: str, locale: str) -> str:
    if kind == "free_shipping":
        return "Free shipping"
    if value is None:
        return "your discount"
    if kind == "percentage":
        return f"{value.normalize():f}% off"
    return f"{format_money(value, currency, locale)} off"


def as_discount(
    row: DiscountCode,
    currency: str,
    locale: str,
    incentive: dict[str, Any] | None = None,
    pool_worth: dict[str, Any] | None = None,
) -> Discount:
    """What the template shows. A pool code is worth what the merchant said (`pool_worth`, from
    `store.settings`), else what the step's incentive says; a static code, what the incentive says."""
    kind = {
        DiscountKind.PERCENTAGE: "percentage",
        DiscountKind.FREE_SHIPPING: "free_shipping",
    }.get(row.kind, "fixed_amount")
    value = row.value
    if row.kind in (DiscountKind.POOL, DiscountKind.STATIC) and incentive:
        spec = Incentive.parse(incentive)
        kind, value = spec.kind, spec.value
    if row.kind == DiscountKind.POOL and pool_worth and pool_worth.get("value"):
        kind = "fixed_amount" if pool_worth.get("kind") == "fixed_amount" else "percentage"
        value = Decimal(str(pool_worth["value"]))
    return Discount(row.code, label(kind, value, currency, locale), row.ends_at)


class DiscountIssuer(Protocol):
    async def issue(
        self, store: Store, enrollment: Enrollment, spec: Incentive, now: datetime
    ) -> DiscountCode | None: ...


class PoolIssuer:
    """Hands out a merchant-uploaded code; the conditional update makes each code one shopper's."""

    async def issue(
        self, store: Store, enrollment: Enrollment, spec: Incentive, now: datetime
    ) -> DiscountCode | None:
        for _ in range(5):
            candidates = (
                await DiscountCode.filter(
                    Q(ends_at=None) | Q(ends_at__gt=now),  # an expired code would only disappoint
                    store=store,
                    kind=DiscountKind.POOL,
                    enrollment_id=None,
                    assigned_at=None,
                )
                .order_by("id")
                .limit(5)
            )
            if not candidates:
                return None
            for row in candidates:
                won = await DiscountCode.filter(id=row.id, enrollment_id=None).update(
                    enrollment_id=enrollment.id,
                    checkout_id=enrollment.checkout_id,
                    assigned_at=now,
                )
                if won:
                    return await DiscountCode.get(id=row.id)
        return None


class StaticIssuer:
    """The same code for everyone: recorded once per store so links and analytics can find it."""

    async def issue(
        self, store: Store, enrollment: Enrollment, spec: Incentive, now: datetime
    ) -> DiscountCode | None:
        if not spec.code:
            return None
        row, _ = await DiscountCode.get_or_create(
            store=store,
            code=spec.code,
            defaults={"kind": DiscountKind.STATIC, "value": spec.value, "assigned_at": now},
        )
        return row


async def reserved_code(
    store: Store, enrollment: Enrollment, spec: Incentive, now: datetime
) -> DiscountCode:
    """The enrollment's own code, written before any platform is called, so a retry sends the same one."""
    row = await DiscountCode.filter(
        enrollment_id=enrollment.id, provider_id=None, kind__in=list(_ISSUED_KINDS.values())
    ).first()
    if row is not None:
        return row
    prefix = "SHIP-" if spec.kind == "free_shipping" else "BACK-"
    while True:
        code = prefix + "".join(secrets.choice(_ALPHABET) for _ in range(8))
        try:
            return await DiscountCode.create(
                store=store,
                code=code,
                enrollment_id=enrollment.id,
                checkout_id=enrollment.checkout_id,
                kind=_ISSUED_KINDS.get(spec.kind, DiscountKind.FIXED_AMOUNT),
                value=None if spec.kind == "free_shipping" else spec.value,
                ends_at=now + timedelta(hours=spec.expires_hours),
                assigned_at=now,
            )
        except IntegrityError:
            continue


async def mark_issued(row: DiscountCode, provider_id: str) -> DiscountCode:
    await DiscountCode.filter(id=row.id).update(provider_id=provider_id)
    row.provider_id = provider_id
    return row


class ShopifyIssuer:
    """A unique, single-use, expiring Shopify code; the row is written before Shopify is called."""

    async def issue(
        self, store: Store, enrollment: Enrollment, spec: Incentive, now: datetime
    ) -> DiscountCode | None:
        try:
            module = importlib.import_module("app.integrations.shopify.discounts")
        except ImportError:
            raise NoCode("Shopify discounts are not available in this installation") from None
        row = await reserved_code(store, enrollment, spec, now)
        common = {
            "code": row.code,
            "title": f"FollowUp recovery {row.code}",
            "minimum_subtotal": spec.min_total or None,
            "starts_at": now,
            "ends_at": row.ends_at,
        }
        try:
            if spec.kind == "free_shipping":
                provider_id = await module.create_free_shipping_discount(store, **common)
            else:
                provider_id = await module.create_discount(
                    store,
                    # Flows speak percent (10 = 10 %); Shopify's DiscountCodeBasicInput takes 0..1.
                    percentage=spec.value / 100
                    if spec.kind == "percentage" and spec.value
                    else None,
                    amount=spec.value if spec.kind == "fixed_amount" else None,
                    **common,
                )
        except module.DiscountError as exc:
            raise NoCode(str(exc)) from None
        return await mark_issued(row, str(provider_id))


def _woocommerce_issuer() -> DiscountIssuer:
    module = importlib.import_module("app.integrations.woocommerce.issuer")
    issuer: DiscountIssuer = module.WooCommerceIssuer()
    return issuer


async def _has_pool(store: Store) -> bool:
    return await DiscountCode.exists(
        store=store, kind=DiscountKind.POOL, enrollment_id=None, assigned_at=None
    )


async def issuer_for(store: Store, spec: Incentive) -> DiscountIssuer:
    """`auto`: the platform's own unique codes; a WooCommerce store with codes uploaded uses them first."""
    source = spec.source
    if source == "auto":
        source = {Platform.SHOPIFY: "shopify", Platform.WOOCOMMERCE: "woocommerce"}.get(
            store.platform, "pool"
        )
        if source == "woocommerce" and await _has_pool(store):
            source = "pool"
    if source == "woocommerce":
        return _woocommerce_issuer()
    issuers: dict[str, Callable[[], DiscountIssuer]] = {
        "shopify": ShopifyIssuer,
        "pool": PoolIssuer,
        "static": StaticIssuer,
    }
    return issuers[source]()


async def issue_discount_code(
    store: Store,
    enrollment: Enrollment,
    spec: Incentive,
    cart_total: Decimal,
    now: datetime,
    issuer: DiscountIssuer | None = None,
) -> tuple[DiscountCode | None, str | None]:
    """One code per enrollment, reused by later steps; without one, the reason in words."""
    if cart_total < spec.min_total:
        return None, f"the cart is below the incentive's minimum of {spec.min_total}"
    existing = await DiscountCode.filter(enrollment_id=enrollment.id).order_by("id").first()
    if existing and (existing.provider_id or existing.kind in (DiscountKind.POOL,)):
        return existing, None
    try:
        if spec.source == "static" or (spec.source == "auto" and spec.code):
            row = await StaticIssuer().issue(store, enrollment, spec, now)
        else:
            row = await (issuer or await issuer_for(store, spec)).issue(
                store, enrollment, spec, now
            )
    except NoCode as exc:
        return None, exc.reason
    except Exception as exc:  # a discount is a bonus: the message goes out without one
        return None, f"the code could not be issued ({type(exc).__name__}: {exc})"
    if row is None:
        return None, "no code was available: the store's code pool is empty"
    return row, None


async def ensure_discount(
    store: Store,
    enrollment: Enrollment,
    spec: Incentive,
    cart_total: Decimal,
    now: datetime,
    issuer: DiscountIssuer | None = None,
) -> DiscountCode | None:
    """The enrollment's code, or None; when an incentive yields none, the log says why."""
    row, reason = await issue_discount_code(store, enrollment, spec, cart_total, now, issuer)
    if row is None and cart_total >= spec.min_total:
        log.warning(
            "discount not issued, the step goes out without a code",
            extra=ctx(store=store.id, enrollment=enrollment.id, reason=reason),
        )
    return row


async def upload_pool(store: Store, codes: list[str], ends_at: datetime | None) -> int:
    """Add merchant codes to the pool; codes already known are ignored. Returns how many were new."""
    added = 0
    for raw in codes:
        code = raw.strip().upper()
        if not code:
            continue
        _, created = await DiscountCode.get_or_create(
            store=store, code=code, defaults={"kind": DiscountKind.POOL, "ends_at": ends_at}
        )
        added += int(created)
    return added

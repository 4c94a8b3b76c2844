"""Incentives: one code per shopper from Shopify, a merchant-uploaded pool, or a static code."""

from __future__ import annotations

import importlib
import logging
import secrets
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
SOURCES = ("auto", "shopify", "pool", "static")
_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I: codes get typed by hand


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


def validate_incentive(raw: dict[str, Any]) -> list[str]:
    problems: list[str] = []
    try:
        spec = Incentive.parse(raw)
    except (ArithmeticError, ValueError, TypeError) as exc:
        return [f"unreadable incentive: {exc}"]
    if spec.source not in SOURCES:
        problems.append(f"source must be one of {', '.join(SOURCES)}")
    if spec.kind not in ("percentage", "fixed_amount"):
        problems.append("kind must be 'percentage' or 'fixed_amount'")
    if spec.source in ("auto", "shopify") and (spec.value is None or spec.value <= 0):
        problems.append("value must be a positive amount")
    if spec.kind == "percentage" and spec.value is not None and spec.value > 100:
        problems.append("a percentage discount cannot exceed 100")
    if spec.source == "static" and not spec.code:
        problems.append("a static incentive needs its code")
    if not 1 <= spec.expires_hours <= 24 * 60:
        problems.append("expires_hours must be between 1 and 1440")
    return problems


def label(kind: str, value: Decimal | None, currency: str, locale: str) -> str:
    if value is None:
        return "your discount"
    if kind == "percentage":
        return f"{value.normalize():f}% off"
    return f"{format_money(value, currency, locale)} off"


def as_discount(
    row: DiscountCode, currency: str, locale: str, pool_worth: dict[str, Any] | None = None
) -> Discount:
    """`pool_worth` is what the merchant said each pool code takes off (`store.settings`)."""
    kind = "percentage" if row.kind == DiscountKind.PERCENTAGE else "fixed_amount"
    value = row.value
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
                    checkout_id=enrollment.checkout_id,  # type: ignore[attr-defined]
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


class ShopifyIssuer:
    """A unique, single-use, expiring Shopify code; the row is written before Shopify is called."""

    async def issue(
        self, store: Store, enrollment: Enrollment, spec: Incentive, now: datetime
    ) -> DiscountCode | None:
        try:
            module = importlib.import_module("app.integrations.shopify.discounts")
        except ImportError:
            log.warning("shopify discounts unavailable", extra=ctx(store=store.id))
            return None
        row = await DiscountCode.filter(
            enrollment_id=enrollment.id, provider_id=None, kind__not=DiscountKind.POOL
        ).first()
        if row is None:
            row = await self._reserve(store, enrollment, spec, now)
        provider_id = await module.create_discount(
            store,
            code=row.code,
            title=f"FollowUp recovery {row.code}",
            # Flows speak percent (10 = 10 %); Shopify's DiscountCodeBasicInput takes 0..1.
            percentage=spec.value / 100 if spec.kind == "percentage" and spec.value else None,
            amount=spec.value if spec.kind == "fixed_amount" else None,
            minimum_subtotal=spec.min_total or None,
            starts_at=now,
            ends_at=row.ends_at,
        )
        await DiscountCode.filter(id=row.id).update(provider_id=str(provider_id))
        row.provider_id = str(provider_id)
        return row

    async def _reserve(
        self, store: Store, enrollment: Enrollment, spec: Incentive, now: datetime
    ) -> DiscountCode:
        kind = DiscountKind.PERCENTAGE if spec.kind == "percentage" else DiscountKind.FIXED_AMOUNT
        while True:
            code = "BACK-" + "".join(secrets.choice(_ALPHABET) for _ in range(8))
            try:
                return await DiscountCode.create(
                    store=store,
                    code=code,
                    enrollment_id=enrollment.id,
                    checkout_id=enrollment.checkout_id,  # type: ignore[attr-defined]
                    kind=kind,
                    value=spec.value,
                    ends_at=now + timedelta(hours=spec.expires_hours),
                    assigned_at=now,
                )
            except IntegrityError:
                continue


def issuer_for(store: Store, spec: Incentive) -> DiscountIssuer:
    source = spec.source
    if source == "auto":
        source = "shopify" if store.platform == Platform.SHOPIFY else "pool"
        if spec.code:
            source = "static"
    return {"shopify": ShopifyIssuer, "pool": PoolIssuer, "static": StaticIssuer}[source]()


async def ensure_discount(
    store: Store,
    enrollment: Enrollment,
    spec: Incentive,
    cart_total: Decimal,
    now: datetime,
    issuer: DiscountIssuer | None = None,
) -> DiscountCode | None:
    """One code per enrollment, reused by later steps; none when the cart is below the threshold."""
    if cart_total < spec.min_total:
        return None
    existing = await DiscountCode.filter(enrollment_id=enrollment.id).order_by("id").first()
    if existing and (existing.provider_id or existing.kind in (DiscountKind.POOL,)):
        return existing
    if spec.source == "static" or (spec.source == "auto" and spec.code):
        return await StaticIssuer().issue(store, enrollment, spec, now)
    try:
        return await (issuer or issuer_for(store, spec)).issue(store, enrollment, spec, now)
    except Exception as exc:  # a discount is a bonus: the message goes out without one
        log.warning("discount not issued", extra=ctx(enrollment=enrollment.id, error=exc))
        return None


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

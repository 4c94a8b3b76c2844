"""A store's pool of merchant-made discount codes: upload, what each is worth, how many are left."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from tortoise.expressions import Q

from app.core.money import format_money
from app.core.timeutil import utcnow
from app.recovery.discounts import Incentive, PoolIssuer, issuer_for, label
from app.recovery.models import DiscountCode, DiscountKind, Flow, FlowStep
from app.stores.models import Store

DEFAULT_WARN_BELOW = 20
MAX_CODE_LENGTH = 64


@dataclass(frozen=True, slots=True)
class PoolTerms:
    """What the merchant says every code in the pool is worth, and when to warn."""

    kind: str = "percentage"
    value: Decimal | None = None
    warn_below: int = DEFAULT_WARN_BELOW

    @classmethod
    def of(cls, store: Store) -> PoolTerms:
        raw = (store.settings or {}).get("discount_pool") or {}
        try:
            value = Decimal(str(raw["value"])) if raw.get("value") not in (None, "") else None
        except InvalidOperation:
            value = None
        kind = str(raw.get("kind")) if raw.get("kind") in ("percentage", "fixed_amount") else ""
        kind = kind or "percentage"
        return cls(kind, value, int(raw.get("warn_below", DEFAULT_WARN_BELOW)))

    def as_settings(self) -> dict[str, Any]:
        value = None if self.value is None else str(self.value)
        return {"kind": self.kind, "value": value, "warn_below": self.warn_below}


@dataclass(frozen=True, slots=True)
class PoolStatus:
    available: int
    issued: int
    terms: PoolTerms
    steps: list[str] = field(default_factory=list)
    """Where the store's flow would draw a code from the pool ("step 3 (email at 24 hours)")."""

    @property
    def needed(self) -> bool:
        return bool(self.steps)

    @property
    def empty(self) -> bool:
        return self.available == 0

    @property
    def low(self) -> bool:
        return 0 < self.available < self.terms.warn_below

    @property
    def warning(self) -> str | None:
        """What to tell the merchant on /flows and /dashboard, in their words, or None."""
        if not self.needed:
            return None
        where = ", ".join(self.steps)
        if self.empty:
            return (
                f"Your discount {'steps' if len(self.steps) > 1 else 'step'} ({where}) will go "
                "out without a code: this store has no discount codes left. Upload codes made "
                "in your store on the Flows page."
            )
        if self.low:
            return (
                f"Only {self.available} discount {'code' if self.available == 1 else 'codes'} "
                f"left (you asked to be warned below {self.terms.warn_below}). Upload more on "
                "the Flows page before they run out."
            )
        return None


def _when(seconds: int) -> str:
    hours, minutes = divmod(seconds // 60, 60)
    if hours == 0:
        return f"{minutes} minutes"
    return f"{hours} {'hour' if hours == 1 else 'hours'}"


async def _pool_steps(store: Store) -> list[str]:
    """The enabled flow steps whose incentive would come from the pool on this store."""
    flows = await Flow.filter(store=store, enabled=True).order_by("id")
    steps = await FlowStep.filter(flow_id__in=[f.id for f in flows]).order_by("flow_id", "position")
    found = []
    for index, step in enumerate(steps):
        if not step.incentive:
            continue
        spec = Incentive.parse(step.incentive)
        if not spec.code and isinstance(await issuer_for(store, spec), PoolIssuer):
            found.append(f"step {index + 1}, {step.channel} at {_when(step.delay_seconds)}")
    return found


async def status(store: Store) -> PoolStatus:
    fresh = Q(ends_at=None) | Q(ends_at__gt=utcnow())
    available = await DiscountCode.filter(
        fresh, store=store, kind=DiscountKind.POOL, enrollment_id=None, assigned_at=None
    ).count()
    issued = await DiscountCode.filter(
        store=store, kind=DiscountKind.POOL, assigned_at__not_isnull=True
    ).count()
    return PoolStatus(available, issued, PoolTerms.of(store), await _pool_steps(store))


def parse_codes(text: str) -> list[str]:
    """Codes pasted one a line, or a CSV export whose first column holds them (a header is skipped)."""
    codes: list[str] = []
    for row in csv.reader(io.StringIO(text)):
        cells = [c.strip() for c in row if c.strip()]
        if not cells:
            continue
        first = cells[0]
        if first.lower() in ("code", "codes", "discount code", "discount_code", "coupon"):
            continue
        codes.append(first.upper())
    return codes


def describe(row: DiscountCode, store: Store, now: datetime | None = None) -> dict[str, Any]:
    """A code as the shopper's page and the inbox show it: what it takes off, until when."""
    now = now or utcnow()
    if row.kind == DiscountKind.POOL:
        terms = PoolTerms.of(store)
        kind, value = terms.kind, terms.value
    elif row.kind == DiscountKind.FIXED_AMOUNT:
        kind, value = "fixed_amount", row.value
    else:
        kind, value = "percentage", row.value
    expired = row.ends_at is not None and row.ends_at <= now
    return {
        "code": row.code,
        "kind": kind if value is not None else None,
        "value": None if value is None else str(value),
        "label": label(kind, value, store.currency or "USD", store.locale or "en"),
        "currency": store.currency,
        "expires_at": row.ends_at.isoformat() if row.ends_at else None,
        "valid": not expired and row.used_at is None,
    }


def terms_label(terms: PoolTerms, store: Store) -> str:
    if terms.value is None:
        return "not said"
    if terms.kind == "percentage":
        return f"{terms.value.normalize():f}% off"
    return f"{format_money(terms.value, store.currency or 'USD', store.locale or 'en')} off"


class PoolProblem(ValueError):
    """Why an upload was refused, in words for the merchant; nothing was saved."""


MAX_UPLOAD = 10_000


def read_terms(form: dict[str, str], current: PoolTerms) -> PoolTerms:
    """The pool's worth and warning threshold from the upload form; blank keeps what is set."""
    kind = form.get("kind") or current.kind
    if kind not in ("percentage", "fixed_amount"):
        raise PoolProblem("Choose percent off or an amount off.")
    raw_value = (form.get("value") or "").strip()
    try:
        value = Decimal(raw_value) if raw_value else current.value
    except InvalidOperation:
        raise PoolProblem("The value must be a number, like 10.") from None
    if value is not None and (not value.is_finite() or value <= 0):
        raise PoolProblem("The value must be more than zero.")
    if kind == "percentage" and value is not None and value > 100:
        raise PoolProblem("A percent off cannot be more than 100.")
    raw_warn = (form.get("warn_below") or "").strip()
    if raw_warn and not (raw_warn.isdigit() and int(raw_warn) <= MAX_UPLOAD):
        raise PoolProblem(f"Warn below must be a whole number from 0 to {MAX_UPLOAD}.")
    return PoolTerms(kind, value, int(raw_warn) if raw_warn else current.warn_below)


def check_codes(codes: list[str]) -> None:
    if len(codes) > MAX_UPLOAD:
        raise PoolProblem(f"Upload at most {MAX_UPLOAD} codes at a time.")
    too_long = next((c for c in codes if len(c) > MAX_CODE_LENGTH), None)
    if too_long:
        raise PoolProblem(f"A code is at most {MAX_CODE_LENGTH} characters: {too_long[:20]}…")


async def save_terms(store: Store, terms: PoolTerms) -> None:
    settings = {**(store.settings or {}), "discount_pool": terms.as_settings()}
    await Store.filter(id=store.id).update(settings=settings)
    store.settings = settings

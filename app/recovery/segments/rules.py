"""Pure segment rules: conditions on a contact's history, their validation, and RFM groups.

Nothing here does I/O. The send path reads the contact (locked) and their history inside its
claim, builds a `Subject`, and asks `unmet`; the live count on the flows page asks the database
the same question through `app.recovery.segments.services.count`, and a test checks the two
agree contact for contact on both databases.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from app.checkouts.schemas import normalize_tags

# --- RFM ---------------------------------------------------------------------------------------

# Frequency is scored on fixed cut-offs: most shoppers of most stores order once, so the quintiles
# of order counts collapse onto 1 and say nothing. F = 1 for 1 order, 2 for 2, 3 for 3, 4 for 4-5,
# 5 for 6 or more (the lowest order count that scores 2, 3, 4 and 5).
FREQUENCY_CUTS = (2, 3, 4, 6)
# Used until a store has MIN_BUYERS buyers (then its own quintiles): whole days since the last
# order that still score 5, 4, 3 and 2, and spend (store currency) that scores 2, 3, 4 and 5.
DEFAULT_RECENCY_DAYS = (30, 90, 180, 365)
DEFAULT_MONETARY = (Decimal(50), Decimal(100), Decimal(250), Decimal(500))
MIN_BUYERS = 50


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """A store's RFM thresholds: `recency_days[i]` is the most whole days since the last order
    that still scores 5 - i; `monetary[i]` the least spend that scores i + 2."""

    recency_days: tuple[int, int, int, int] = DEFAULT_RECENCY_DAYS
    monetary: tuple[Decimal, Decimal, Decimal, Decimal] = DEFAULT_MONETARY
    currency: str | None = None  # None: the defaults, read in whatever the store's currency is
    buyers: int = 0


def quintile_offsets(n: int) -> tuple[int, int, int, int]:
    """Positions (0-based, nearest rank) of the 20th, 40th, 60th and 80th percentile in n values."""
    if n < 1:
        raise ValueError("no values")
    a, b, c, d = (min(n - 1, (n * k) // 5) for k in (1, 2, 3, 4))
    return a, b, c, d


def quintile_cuts(sorted_values: list[Any]) -> list[Any]:
    """The quintile cut-offs of an ascending list (what the worker reads at those offsets)."""
    return [sorted_values[i] for i in quintile_offsets(len(sorted_values))]


def store_cutoffs(
    recency_days: list[int], monetary: list[Decimal], currency: str, buyers: int
) -> Cutoffs:
    """A store's cut-offs: its own recency and monetary quintiles (whole days since the last order,
    ascending; spend, ascending), or the documented defaults while it has fewer than MIN_BUYERS
    buyers or either list is missing (quintiles of a handful mean nothing)."""
    if buyers < MIN_BUYERS or len(recency_days) != 4 or len(monetary) != 4:
        return Cutoffs(buyers=buyers)
    r1, r2, r3, r4 = sorted(recency_days)
    m1, m2, m3, m4 = sorted(monetary)
    return Cutoffs((r1, r2, r3, r4), (m1, m2, m3, m4), currency.upper(), buyers)


def age_days(last_order_at: datetime, now: datetime) -> int:
    """Whole days since the last order (a day and 23 hours is 1)."""
    return (now - last_order_at) // timedelta(days=1)


def recency_score(days: int, cuts: Cutoffs) -> int:
    for score, most in zip((5, 4, 3, 2), cuts.recency_days, strict=True):
        if days <= most:
            return score
    return 1


def _ladder(value: Decimal | int, lowest_for: tuple[Any, ...]) -> int:
    return 1 + sum(1 for least in lowest_for if value >= least)


def frequency_score(orders: int) -> int:
    return _ladder(orders, FREQUENCY_CUTS)


def monetary_score(spent: Decimal, currency: str, cuts: Cutoffs) -> int:
    """Spend in another currency than the cut-offs' cannot be compared: it scores 1."""
    if cuts.currency is not None and currency.upper() != cuts.currency.upper():
        return 1
    return _ladder(spent, cuts.monetary)


@dataclass(frozen=True, slots=True)
class Group:
    """A box of scores: each dimension's inclusive (low, high). Groups are tried in order and a
    buyer belongs to the first whose box holds their scores, so the groups never overlap."""

    name: str
    label: str
    meaning: str
    r: tuple[int, int] = (1, 5)
    f: tuple[int, int] = (1, 5)
    m: tuple[int, int] = (1, 5)

    def holds(self, r: int, f: int, m: int) -> bool:
        return all(lo <= v <= hi for v, (lo, hi) in ((r, self.r), (f, self.f), (m, self.m)))


PROSPECTS = "prospects"
GROUPS: tuple[Group, ...] = (
    Group("champions", "Champions", "bought recently, often and the most", (4, 5), (4, 5), (4, 5)),
    Group("loyal", "Loyal", "order often, and not long ago", (3, 5), (3, 5)),
    Group("new", "New customers", "one order, recently", (4, 5), (1, 1)),
    Group("promising", "Promising", "a recent order, not many yet", (3, 5)),
    Group("at_risk", "At risk", "used to order often, not lately", (1, 2), (3, 5)),
    Group("hibernating", "Hibernating", "few orders, long ago", (1, 2)),
)
GROUP_NAMES = (*(g.name for g in GROUPS), PROSPECTS)
GROUP_LABELS = {**{g.name: g.label for g in GROUPS}, PROSPECTS: "No order yet"}


def rfm_group(
    orders: int,
    spent: Decimal,
    currency: str,
    last_order_at: datetime | None,
    now: datetime,
    cuts: Cutoffs,
) -> str:
    """The contact's RFM group: `prospects` without a confirmed order, else the first group
    whose box holds their recency, frequency and monetary scores."""
    if orders < 1 or last_order_at is None:
        return PROSPECTS
    r = recency_score(age_days(last_order_at, now), cuts)
    f = frequency_score(orders)
    m = monetary_score(spent, currency, cuts)
    return next(g.name for g in GROUPS if g.holds(r, f, m))


# --- conditions ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Subject:
    """What a segment may know about a contact: their history, tags, country and consent."""

    orders_count: int = 0
    total_spent: Decimal = Decimal(0)
    currency: str = "USD"
    last_order_at: datetime | None = None
    tags: frozenset[str] = frozenset()
    country: str | None = None
    subscribed: bool = False


@dataclass(frozen=True, slots=True)
class Context:
    """What evaluation needs besides the contact: the time, the store's currency and cut-offs."""

    now: datetime
    currency: str
    cutoffs: Cutoffs = field(default_factory=Cutoffs)


KEYS = (
    "orders_count",
    "total_spent",
    "last_order_days",
    "tags_any",
    "tags_all",
    "tags_none",
    "countries",
    "subscribed",
    "rfm_groups",
)
MAX_ORDERS, MAX_DAYS, MAX_LIST = 1_000_000, 36_500, 50
MAX_AMOUNT = Decimal(10**12)  # MONEY holds 16 digits, 4 after the point


class SegmentProblem(ValueError):
    """A bad condition; the message starts with its exact place, e.g. `conditions.total_spent.min`."""


def validate(conditions: object, currency: str, where: str = "conditions") -> dict[str, Any]:
    """The conditions in their stored form (amounts as decimal strings, tags normalised,
    countries upper case); raises SegmentProblem naming the first bad field."""
    if not isinstance(conditions, Mapping):
        raise SegmentProblem(f"{where}: must be an object")
    out: dict[str, Any] = {}
    for key, value in conditions.items():
        if key not in KEYS:
            raise SegmentProblem(f"{where}.{key}: unknown condition; one of {', '.join(KEYS)}")
        out[key] = _VALIDATORS[key](f"{where}.{key}", value, currency)
    return out


def _range(where: str, value: object, read: Any, high: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value:
        raise SegmentProblem(f"{where}: must be an object with min and/or max")
    out: dict[str, Any] = {}
    for key, given in value.items():
        if key not in ("min", "max"):
            if key == "currency":
                continue
            raise SegmentProblem(f"{where}.{key}: only min and max are allowed")
        out[key] = read(f"{where}.{key}", given, high)
    if "min" in out and "max" in out and Decimal(str(out["min"])) > Decimal(str(out["max"])):
        raise SegmentProblem(f"{where}: min ({out['min']}) is greater than max ({out['max']})")
    if not out:
        raise SegmentProblem(f"{where}: must have min and/or max")
    return out


def _whole(where: str, value: object, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SegmentProblem(f"{where}: must be a whole number")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise SegmentProblem(f"{where}: must be a whole number, got {value!r}") from None
    if not 0 <= number <= high:
        raise SegmentProblem(f"{where}: must be between 0 and {high}")
    return number


def _amount(where: str, value: object, high: Decimal) -> str:
    """A decimal string (or a whole number); floats are refused: 0.1 is not 0.1 in binary."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise SegmentProblem(f'{where}: must be an amount as a string, e.g. "100.00"')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise SegmentProblem(f"{where}: must be an amount, got {value!r}") from None
    if not amount.is_finite() or amount < 0 or amount > high:
        raise SegmentProblem(f"{where}: must be between 0 and {high}")
    if amount.as_tuple().exponent < -4:  # type: ignore[operator]
        raise SegmentProblem(f"{where}: at most 4 decimal places")
    return str(amount)


def _orders(where: str, value: object, currency: str) -> dict[str, Any]:
    return _range(where, value, _whole, MAX_ORDERS)


def _days(where: str, value: object, currency: str) -> dict[str, Any]:
    return _range(where, value, _whole, MAX_DAYS)


def _spent(where: str, value: object, currency: str) -> dict[str, Any]:
    out = _range(where, value, _amount, MAX_AMOUNT)
    given = value.get("currency") if isinstance(value, Mapping) else None
    if given is not None and str(given).upper() != currency.upper():
        raise SegmentProblem(
            f"{where}.currency: this store sells in {currency.upper()}; "
            f"spend is compared in that currency only"
        )
    out["currency"] = currency.upper()
    return out


def _strings(where: str, value: object) -> list[str]:
    if not isinstance(value, list) or not value:
        raise SegmentProblem(f"{where}: must be a non-empty list")
    if len(value) > MAX_LIST:
        raise SegmentProblem(f"{where}: at most {MAX_LIST} entries")
    if not all(isinstance(v, str) and v.strip() for v in value):
        raise SegmentProblem(f"{where}: every entry must be non-empty text")
    return [str(v) for v in value]


def _tags(where: str, value: object, currency: str) -> list[str]:
    return normalize_tags(_strings(where, value)) or []


def _countries(where: str, value: object, currency: str) -> list[str]:
    codes = [v.strip().upper() for v in _strings(where, value)]
    bad = [c for c in codes if len(c) != 2 or not c.isalpha() or not c.isascii()]
    if bad:
        raise SegmentProblem(f"{where}: two-letter country codes (ISO 3166), got {bad[0]!r}")
    return sorted(set(codes))


def _subscribed(where: str, value: object, currency: str) -> bool:
    if not isinstance(value, bool):
        raise SegmentProblem(f"{where}: must be true or false")
    return value


def _groups(where: str, value: object, currency: str) -> list[str]:
    names = [v.strip().lower() for v in _strings(where, value)]
    bad = [n for n in names if n not in GROUP_NAMES]
    if bad:
        raise SegmentProblem(f"{where}: unknown group {bad[0]!r}; one of {', '.join(GROUP_NAMES)}")
    return sorted(set(names), key=GROUP_NAMES.index)


_VALIDATORS = {
    "orders_count": _orders,
    "total_spent": _spent,
    "last_order_days": _days,
    "tags_any": _tags,
    "tags_all": _tags,
    "tags_none": _tags,
    "countries": _countries,
    "subscribed": _subscribed,
    "rfm_groups": _groups,
}


def _outside(value: Decimal | int, bounds: Mapping[str, Any]) -> str | None:
    if "min" in bounds and value < Decimal(str(bounds["min"])):
        return f"below {bounds['min']}"
    if "max" in bounds and value > Decimal(str(bounds["max"])):
        return f"above {bounds['max']}"
    return None


def unmet(conditions: Mapping[str, Any], who: Subject, ctx: Context) -> str | None:
    """The first condition (of stored, validated ones) the contact fails, in words, or None
    when they are in the segment. Every condition must hold."""
    c = conditions
    if "orders_count" in c and (off := _outside(who.orders_count, c["orders_count"])):
        return f"orders {who.orders_count}, {off}"
    if "total_spent" in c:
        wanted = str(c["total_spent"].get("currency") or ctx.currency).upper()
        if who.currency.upper() != wanted:
            return f"spend is counted in {who.currency.upper()}, the segment in {wanted}"
        if off := _outside(who.total_spent, c["total_spent"]):
            return f"spent {who.total_spent} {wanted}, {off}"
    if "last_order_days" in c:
        if who.last_order_at is None:
            return "no order yet"
        days = age_days(who.last_order_at, ctx.now)
        if off := _outside(days, c["last_order_days"]):
            return f"last order {days} days ago, {off}"
    return _unmet_lists(c, who, ctx)


def _unmet_lists(c: Mapping[str, Any], who: Subject, ctx: Context) -> str | None:
    if c.get("tags_any") and not who.tags & set(c["tags_any"]):
        return "none of the tags"
    if c.get("tags_all") and not set(c["tags_all"]) <= who.tags:
        return "missing a required tag"
    if c.get("tags_none") and who.tags & set(c["tags_none"]):
        return "has an excluded tag"
    if c.get("countries") and (who.country or "").upper() not in c["countries"]:
        return f"country {who.country or 'unknown'}"
    if "subscribed" in c and who.subscribed != c["subscribed"]:
        return "subscribed" if who.subscribed else "not subscribed"
    if c.get("rfm_groups"):
        group = rfm_group(
            who.orders_count,
            who.total_spent,
            who.currency,
            who.last_order_at,
            ctx.now,
            ctx.cutoffs,
        )
        if group not in c["rfm_groups"]:
            return f"in the {GROUP_LABELS[group]} group"
    return None


def not_in(segment_name: str, reason: str) -> str:
    """The reason an enrollment stops or a step is skipped, in words, within 64 characters."""
    tail = f" ({reason})"
    head = f"not in segment {segment_name}"
    if len(head) + len(tail) <= 64:
        return head + tail
    return head[:64]

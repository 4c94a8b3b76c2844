"""Pure measures beside attribution: A/B tests, holdout lift, cost and ROI, percentiles and rates.

Every function is pure (no I/O, no clock); `figures` feeds them what the database counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from statistics import NormalDist

ZERO = Decimal(0)


@dataclass(frozen=True, slots=True)
class Prices:
    """What the merchant pays per SMS segment and per email (per store, `settings["prices"]`)."""

    sms_segment: Decimal = Decimal("0.0079")
    email: Decimal = Decimal("0.0010")


def prices_from_settings(raw: Mapping[str, object] | None) -> Prices:
    raw = raw or {}
    default = Prices()
    sms = raw.get("sms_segment")
    email = raw.get("email")
    return Prices(
        sms_segment=Decimal(str(sms)) if sms not in (None, "") else default.sms_segment,
        email=Decimal(str(email)) if email not in (None, "") else default.email,
    )


def cost(sms_segments: int, emails: int, prices: Prices) -> Decimal:
    """Only what was handed to a provider costs money: pending and cancelled sends are free."""
    return prices.sms_segment * sms_segments + prices.email * emails


def roi(revenue: Decimal, spent: Decimal) -> Decimal | None:
    """Revenue per unit of cost (12.5 means 12.5x); None when nothing was spent."""
    return None if spent <= 0 else revenue / spent


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear interpolation between closest ranks (the usual 'type 7'); None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    position = (len(ordered) - 1) * q
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


# --- A/B tests ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Arm:
    key: str
    sent: int
    conversions: int

    @property
    def rate(self) -> float:
        return self.conversions / self.sent if self.sent else 0.0


@dataclass(frozen=True, slots=True)
class Comparison:
    arm: Arm
    z: float | None
    p_value: float | None
    """Two-sided, against the control (the first arm)."""
    enough: bool
    """Both this arm and the control reached the minimum sample."""


@dataclass(frozen=True, slots=True)
class Experiment:
    comparisons: list[Comparison]
    winner: str | None
    min_sample: int
    alpha: float


def two_proportion_z(k1: int, n1: int, k2: int, n2: int) -> tuple[float, float] | None:
    """Pooled two-proportion z-test; None when it is undefined (an empty arm or no variance)."""
    if n1 == 0 or n2 == 0:
        return None
    pooled = (k1 + k2) / (n1 + n2)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    if spread == 0:
        return None
    z = (k1 / n1 - k2 / n2) / spread
    return z, 2 * (1 - NormalDist().cdf(abs(z)))


def experiment(arms: Sequence[Arm], min_sample: int = 100, alpha: float = 0.05) -> Experiment:
    """Compare every arm with the control; declare a winner only when the sample allows it.

    A winner needs every arm at `min_sample` sends or more and a significant difference with
    the control; with several challengers the level is Bonferroni-corrected so that looking at
    many arms does not manufacture a winner.
    """
    if not arms:
        return Experiment([], None, min_sample, alpha)
    control = arms[0]
    level = alpha / max(1, len(arms) - 1)
    comparisons = [Comparison(control, None, None, control.sent >= min_sample)]
    for arm in arms[1:]:
        test = two_proportion_z(arm.conversions, arm.sent, control.conversions, control.sent)
        enough = arm.sent >= min_sample and control.sent >= min_sample
        comparisons.append(
            Comparison(arm, test[0] if test else None, test[1] if test else None, enough)
        )
    winner = None
    if len(arms) > 1 and all(c.enough for c in comparisons):
        significant = [c for c in comparisons[1:] if c.p_value is not None and c.p_value < level]
        better = [c for c in significant if c.arm.rate > control.rate]
        if better:
            winner = max(better, key=lambda c: c.arm.rate).arm.key
        elif significant and len(significant) == len(comparisons) - 1:
            winner = control.key  # every challenger is significantly worse
    return Experiment(comparisons, winner, min_sample, alpha)


# --- holdout lift ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Group:
    size: int
    conversions: int
    revenue: Decimal = ZERO

    @property
    def rate(self) -> float:
        return self.conversions / self.size if self.size else 0.0


@dataclass(frozen=True, slots=True)
class Lift:
    messaged: Group
    holdout: Group
    difference: float
    """Conversion rate of messaged minus holdout, as a fraction."""
    low: float
    high: float
    confidence: float
    incremental_orders: Decimal
    incremental_revenue: Decimal
    significant: bool
    """The interval excludes zero: the messages made a difference we can stand behind."""


def converted(abandoned_at: datetime, ordered_at: datetime | None, window: timedelta) -> bool:
    """The same rule for both groups, so the comparison is fair."""
    return ordered_at is not None and abandoned_at <= ordered_at <= abandoned_at + window


def z_for(confidence: float) -> float:
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def wilson(successes: int, trials: int, z: float) -> tuple[float, float]:
    """Wilson score interval: sound at small samples and at 0 % or 100 %, unlike the Wald interval."""
    if trials == 0:
        return 0.0, 1.0
    p = successes / trials
    denominator = 1 + z * z / trials
    centre = (p + z * z / (2 * trials)) / denominator
    half = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials)) / denominator
    return max(0.0, centre - half), min(1.0, centre + half)


def newcombe(k1: int, n1: int, k2: int, n2: int, z: float) -> tuple[float, float]:
    """Newcombe's hybrid score interval (method 10) for p1 - p2, built from two Wilson intervals."""
    p1, p2 = (k1 / n1 if n1 else 0.0), (k2 / n2 if n2 else 0.0)
    l1, u1 = wilson(k1, n1, z)
    l2, u2 = wilson(k2, n2, z)
    diff = p1 - p2
    low = diff - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    high = diff + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return max(-1.0, low), min(1.0, high)


def lift(messaged: Group, holdout: Group, confidence: float = 0.95) -> Lift | None:
    """Incremental effect of messaging: None until both groups have someone in them."""
    if messaged.size == 0 or holdout.size == 0:
        return None
    low, high = newcombe(
        messaged.conversions, messaged.size, holdout.conversions, holdout.size, z_for(confidence)
    )
    expected = Decimal(holdout.conversions) * messaged.size / holdout.size
    per_head = holdout.revenue / holdout.size
    return Lift(
        messaged=messaged,
        holdout=holdout,
        difference=messaged.rate - holdout.rate,
        low=low,
        high=high,
        confidence=confidence,
        incremental_orders=Decimal(messaged.conversions) - expected,
        incremental_revenue=messaged.revenue - per_head * messaged.size,
        significant=low > 0 or high < 0,
    )


# --- automatic promotion -----------------------------------------------------------------------

AUTO_MIN_SAMPLE = 500
AUTO_PROBABILITY = 0.90


def probability_better(arm: Arm, other: Arm) -> float:
    """P(arm's true rate > other's) under the normal approximation of both rates (0.5 when the
    difference has no spread, e.g. both 0 %)."""
    if arm.sent == 0 or other.sent == 0:
        return 0.5
    p1, p2 = arm.rate, other.rate
    spread = math.sqrt(p1 * (1 - p1) / arm.sent + p2 * (1 - p2) / other.sent)
    if spread == 0:
        return 0.5 if p1 == p2 else float(p1 > p2)
    return NormalDist().cdf((p1 - p2) / spread)


def auto_winner(
    arms: Sequence[Arm],
    min_sample: int = AUTO_MIN_SAMPLE,
    probability: float = AUTO_PROBABILITY,
) -> tuple[str, float] | None:
    """Klaviyo's rule for applying a winner unattended: every variant has `min_sample` recipients
    and the leader beats each other variant with at least `probability`; the leader and its
    lowest such probability, or None."""
    if len(arms) < 2 or any(a.sent < min_sample for a in arms):
        return None
    leader = max(arms, key=lambda a: (a.rate, a.sent))
    chance = min(probability_better(leader, a) for a in arms if a is not leader)
    return (leader.key, chance) if chance >= probability else None

"""Pure scoring rules: when a store has history enough to learn from, its prior, expected value.

The prior (documented in docs/scoring.md): a store's own recovery rate, smoothed towards a
10 % industry base rate with the weight of 50 abandonments, so a new store starts at 10 % and
moves towards what it really recovers as abandonments settle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal

from app.core.money import quantize

BASE_RATE = Decimal("0.10")
PRIOR_WEIGHT = 50
MIN_EXAMPLES = 200
MIN_EACH_CLASS = 20
LABEL_AFTER = timedelta(days=7)
"""An abandonment still open after this long counts as not recovered."""
RETRAIN_AFTER = timedelta(hours=24)
SCORE_PLACES = Decimal("0.0001")


def prior(examples: int, positives: int) -> Decimal:
    """The store's recovery rate smoothed towards BASE_RATE (a Beta prior of PRIOR_WEIGHT carts)."""
    rate = (Decimal(positives) + PRIOR_WEIGHT * BASE_RATE) / (examples + PRIOR_WEIGHT)
    return rate.quantize(SCORE_PLACES, rounding=ROUND_HALF_EVEN)


def can_learn(examples: int, positives: int) -> bool:
    """Enough labelled abandonments, and enough of each outcome, for a model to beat the prior."""
    return (
        examples >= MIN_EXAMPLES
        and positives >= MIN_EACH_CLASS
        and examples - positives >= MIN_EACH_CLASS
    )


def labelled(status: str, abandoned_at: datetime, now: datetime) -> bool | None:
    """True when the abandonment came back as an order, False when it had its chance and did not,
    None while it is too early to tell."""
    if status in ("recovered", "completed"):
        return True
    if status in ("abandoned", "expired") and abandoned_at <= now - LABEL_AFTER:
        return False
    return None


def as_score(probability: float) -> Decimal:
    clipped = min(max(probability, 0.0), 1.0)
    return Decimal(str(clipped)).quantize(SCORE_PLACES, rounding=ROUND_HALF_EVEN)


def expected_value(score: Decimal, total: Decimal, currency: str) -> Decimal:
    """What the cart is worth to the store, weighted by its chance of coming back."""
    return quantize(score * total, currency)


def due_for_training(trained_at: datetime | None, now: datetime) -> bool:
    return trained_at is None or trained_at <= now - RETRAIN_AFTER


@dataclass(frozen=True, slots=True)
class Score:
    probability: Decimal
    source: str  # "model" | "prior"

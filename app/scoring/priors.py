"""The score a checkout has when it has none: its store's prior, read without loading any model."""

from __future__ import annotations

from decimal import Decimal

from app.scoring import rules
from app.scoring.models import ScoreModel


async def prior_for(store_id: int) -> Decimal:
    found = await ScoreModel.filter(store_id=store_id).values_list("prior", flat=True)
    return Decimal(str(found[0])) if found else rules.BASE_RATE

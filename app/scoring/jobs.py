"""Worker jobs: the hourly check that retrains stale store models, and one store's retraining."""

from __future__ import annotations

import logging
from typing import Any

from app.core.scheduling import enqueue
from app.core.timeutil import utcnow
from app.scoring import services

log = logging.getLogger(__name__)


async def retrain_scores(ctx: dict[str, Any]) -> int:
    """Cron: every store whose model is missing or a day old gets a training job (one per store
    per hour, by job id, whichever worker's cron fires)."""
    now = utcnow()
    due = await services.stores_due(now)
    for store_id in due:
        await enqueue(
            ctx.get("redis"),
            "train_store_model",
            store_id,
            job_id=f"score-train:{store_id}:{now:%Y%m%d%H}",
        )
    return len(due)


async def train_store_model(ctx: dict[str, Any], store_id: int) -> int:
    """Learn the store's model from its history, then re-score the carts still abandoned."""
    model = await services.train_store(store_id)
    if model is None:
        return 0
    return await services.rescore_abandoned(store_id)

"""Training a store's score model from its history, and scoring its abandoned checkouts with it."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from app.checkouts.models import Checkout, CheckoutStatus
from app.core.logging import ctx as log_ctx
from app.core.timeutil import utcnow
from app.scoring import features, history, rules
from app.scoring.models import ScoreModel
from app.stores.models import Store

log = logging.getLogger(__name__)
RESCORE_LIMIT = 5_000
"""After training, this many of the store's newest still-abandoned checkouts are scored again."""


@dataclass(frozen=True, slots=True)
class Current:
    estimator: Any | None
    prior: Decimal


_loaded: dict[int, tuple[str, Any | None]] = {}
"""Per store: the signature of the model bytes last unpickled, and the estimator."""


async def current(store_id: int) -> Current:
    """The store's model (unpickled once per process and training), or only its prior."""
    row = await ScoreModel.get_or_none(store_id=store_id)
    if row is None:
        return Current(None, rules.BASE_RATE)
    if row.kind != "model" or not row.blob or not row.signature:
        return Current(None, row.prior)
    cached = _loaded.get(store_id)
    if cached is None or cached[0] != row.signature:
        from app.scoring import training  # scikit-learn: loaded only where a model is used

        estimator = training.load(bytes(row.blob), row.signature)
        if estimator is None:
            log.warning("score model signature mismatch", extra=log_ctx(store=store_id))
        cached = (row.signature, estimator)
        _loaded[store_id] = cached
    return Current(cached[1], row.prior)


async def train_store(store_id: int, now: datetime | None = None) -> ScoreModel | None:
    """Learn from the store's labelled abandonments; too little history keeps only the prior."""
    now = now or utcnow()
    store = await Store.get_or_none(id=store_id)
    if store is None:
        return None
    rows = [
        r
        for r in await history.abandoned_rows(store_id)
        if rules.labelled(str(r["status"]), r["abandoned_at"], now) is not None
    ]
    labels = [int(bool(rules.labelled(str(r["status"]), r["abandoned_at"], now))) for r in rows]
    positives = sum(labels)
    values: dict[str, Any] = {
        "kind": "prior",
        "prior": rules.prior(len(rows), positives),
        "blob": None,
        "signature": None,
        "features_version": features.VERSION,
        "examples": len(rows),
        "positives": positives,
        "auc": None,
        "train_seconds": 0.0,
        "trained_at": now,
    }
    if rules.can_learn(len(rows), positives):
        import numpy as np

        from app.scoring import training

        x = features.matrix(await history.examples(store_id, store.timezone, rows))
        fitted = await asyncio.to_thread(training.fit, x, np.array(labels))
        blob, signature = training.dump(fitted.estimator)
        values |= {
            "kind": "model",
            "blob": blob,
            "signature": signature,
            "auc": rules.as_score(fitted.auc) if fitted.auc is not None else None,
            "train_seconds": fitted.seconds,
        }
    model, _ = await ScoreModel.update_or_create(defaults=values, store_id=store_id)
    log.info(
        "score model trained",
        extra=log_ctx(store=store_id, kind=model.kind, examples=len(rows), auc=str(model.auc)),
    )
    return model


async def score(store_id: int, checkout_ids: list[int], now: datetime | None = None) -> int:
    """Write each checkout's likelihood and expected value; the prior wherever no model applies."""
    now = now or utcnow()
    store = await Store.get_or_none(id=store_id)
    rows = await history.rows_for(store_id, checkout_ids) if store else []
    if not rows or store is None:
        return 0
    model = await current(store_id)
    scores = [rules.Score(model.prior, "prior")] * len(rows)
    if model.estimator is not None:
        from app.scoring import training

        x = features.matrix(await history.examples(store_id, store.timezone, rows))
        probs = await asyncio.to_thread(training.probabilities, model.estimator, x)
        scores = [rules.Score(rules.as_score(p), "model") for p in probs]
    totals = {
        c["id"]: c
        for c in await Checkout.filter(id__in=[r["id"] for r in rows]).values(
            "id", "total", "currency"
        )
    }
    for r, s in zip(rows, scores, strict=True):
        c = totals[r["id"]]
        await Checkout.filter(id=r["id"], store_id=store_id).update(
            recovery_score=s.probability,
            expected_value=rules.expected_value(s.probability, c["total"], c["currency"]),
            score_source=s.source,
            scored_at=now,
        )
    return len(rows)


async def rescore_abandoned(store_id: int, now: datetime | None = None) -> int:
    """After a retrain, the carts still waiting to be recovered get the new model's view."""
    ids = [
        int(i)
        for (i,) in await Checkout.filter(store_id=store_id, status=CheckoutStatus.ABANDONED)
        .order_by("-abandoned_at")
        .limit(RESCORE_LIMIT)
        .values_list("id")
    ]
    return await score(store_id, ids, now) if ids else 0


async def stores_due(now: datetime) -> list[int]:
    """Active stores whose model is missing or older than a day."""
    trained = {
        r["store_id"]: r["trained_at"]
        for r in await ScoreModel.all().values("store_id", "trained_at")
    }
    ids = [int(r["id"]) for r in await Store.filter(status="active").values("id")]
    return [i for i in ids if rules.due_for_training(trained.get(i), now)]

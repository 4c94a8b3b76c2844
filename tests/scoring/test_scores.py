"""The predicted recovery score end to end: history in the database, a model trained by the worker
and stored per store, checkouts scored at abandonment, the prior for stores without history."""

from __future__ import annotations

from decimal import Decimal

from app.checkouts.models import Checkout
from app.checkouts.services import mark_abandoned
from app.core import events
from app.core.outbox import OutboxEvent
from app.scoring import rules, services
from app.scoring.jobs import retrain_scores
from app.scoring.models import ScoreModel
from tests.factories import make_store
from tests.scoring.history import NOW, fresh_abandoned, seed_history


async def test_a_store_with_history_learns_the_signal_and_scores_with_it(settings):
    store = (await make_store("custom")).store
    await seed_history(store, 600)
    model = await services.train_store(store.id, NOW)
    assert model is not None and model.kind == "model" and model.examples == 600
    assert model.blob and model.auc is not None and model.auc > Decimal("0.7")

    likely = await fresh_abandoned(store, "likely", "mobile", consent=True)
    unlikely = await fresh_abandoned(store, "unlikely", "desktop", consent=False)
    assert await services.score(store.id, [likely.id, unlikely.id], NOW) == 2
    await likely.refresh_from_db()
    await unlikely.refresh_from_db()
    assert likely.score_source == unlikely.score_source == "model"
    assert likely.recovery_score is not None and unlikely.recovery_score is not None
    assert likely.recovery_score > Decimal("0.35") > unlikely.recovery_score
    assert likely.expected_value == (likely.recovery_score * Decimal("80")).quantize(
        Decimal("0.01")
    )


async def test_another_process_scores_with_the_stored_model_and_refuses_tampered_bytes(settings):
    store = (await make_store("custom")).store
    await seed_history(store, 400)
    await services.train_store(store.id, NOW)
    checkout = await fresh_abandoned(store, "one", "mobile", consent=True)
    await services.score(store.id, [checkout.id], NOW)
    await checkout.refresh_from_db()
    first = checkout.recovery_score

    services._loaded.clear()  # a worker that never trained: it reads the model from the database
    await services.score(store.id, [checkout.id], NOW)
    await checkout.refresh_from_db()
    assert checkout.recovery_score == first and checkout.score_source == "model"

    row = await ScoreModel.get(store_id=store.id)
    await ScoreModel.filter(id=row.id).update(blob=bytes(row.blob) + b"x")
    services._loaded.clear()
    await services.score(store.id, [checkout.id], NOW)
    await checkout.refresh_from_db()
    assert checkout.score_source == "prior" and checkout.recovery_score == row.prior


async def test_too_little_history_scores_with_the_documented_prior(settings):
    store = (await make_store("custom")).store
    await seed_history(store, 40)
    model = await services.train_store(store.id, NOW)
    assert model is not None and model.kind == "prior" and model.blob is None
    positives = await Checkout.filter(store=store, status="recovered").count()
    assert model.prior == rules.prior(40, positives)
    checkout = await fresh_abandoned(store, "new", "mobile", consent=True)
    await services.score(store.id, [checkout.id], NOW)
    await checkout.refresh_from_db()
    assert checkout.score_source == "prior" and checkout.recovery_score == model.prior


async def test_abandonment_is_scored_before_enrolment_with_the_base_rate(settings):
    store = (await make_store("custom")).store
    checkout = await fresh_abandoned(store, "open", "mobile", consent=True)
    await Checkout.filter(id=checkout.id).update(
        status="open", abandoned_at=None, abandon_due_at=NOW
    )
    transition = await mark_abandoned(checkout.id, NOW)
    assert transition is not None and transition.event_id
    assert await events.dispatch(transition.event_id)
    await checkout.refresh_from_db()
    assert checkout.recovery_score == rules.BASE_RATE and checkout.score_source == "prior"
    assert checkout.expected_value == Decimal("8.00")
    event = await OutboxEvent.get(id=transition.event_id)
    assert event.dispatched_at is not None


async def test_the_cron_trains_stale_stores_through_the_worker_and_rescores(
    settings, queue, run_jobs
):
    store = (await make_store("custom")).store
    await seed_history(store, 400)
    waiting = await fresh_abandoned(store, "waiting", "mobile", consent=True)
    assert await retrain_scores({"redis": queue}) == 1
    await run_jobs()
    model = await ScoreModel.get(store_id=store.id)
    assert model.kind == "model"
    await waiting.refresh_from_db()
    assert waiting.score_source == "model" and waiting.scored_at is not None
    assert await retrain_scores({"redis": queue}) == 0  # fresh for a day

"""The arq worker: every job function, the repair sweep, and startup and shutdown of shared clients."""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import Any

from arq import cron, func
from arq.worker import Worker

from app.analytics.jobs import analytics_sweep, refresh_rollups
from app.analytics.promotion import promote_winners
from app.checkouts.jobs import advance_birthdays, check_abandoned, sweep_checkouts
from app.config import Settings, get_settings
from app.core.db import close_db, init_db
from app.core.heap import freeze_startup_heap
from app.core.jobs import dispatch_event, dispatch_events, sweep_events
from app.core.redis import QUEUE, arq_settings
from app.core.timeutil import utcnow
from app.hooks.jobs import deliver_hook, deliver_hooks, hooks_sweep
from app.ingest.jobs import drain_raw_events, sweep_deliveries
from app.integrations.shopify.jobs import enrich_checkout
from app.recovery.jobs import (
    enroll_timed,
    recovery_sweep,
    send_step,
    start_drainers,
    stop_drainers,
)
from app.recovery.segments.jobs import refresh_rfm_cutoffs
from app.scoring.jobs import retrain_scores, train_store_model
from app.wiring import wire
from inbox.jobs import wake_snoozed

log = logging.getLogger(__name__)


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Re-derive everything that is due from the database, so a flushed Redis loses nothing:
    deliveries to drain, checkouts to abandon or expire, events to dispatch."""
    now, queue = utcnow(), ctx["redis"]
    deliveries = await sweep_deliveries(queue, now)
    checkouts = await sweep_checkouts(queue, now)
    counts = {
        "raw": deliveries["raw"],
        "abandoned": checkouts["abandoned"],
        "events": await sweep_events(queue, now),
        "expired": checkouts["expired"],
        "orders_seen_pruned": deliveries["orders_seen_pruned"],
        "raw_pruned": deliveries["raw_pruned"],
    }
    if any(counts.values()):
        log.info("sweep: %s", "; ".join(_swept(key, n) for key, n in counts.items() if n))
    return counts


SWEPT = {
    "raw": ("delivery", "deliveries", "sent to processing again"),
    "abandoned": ("checkout", "checkouts", "abandoned"),
    "events": ("event", "events", "dispatched again"),
    "expired": ("checkout", "checkouts", "expired"),
    "orders_seen_pruned": ("order key", "order keys", "forgotten"),
    "raw_pruned": ("handled delivery", "handled deliveries", "deleted after the retention period"),
}
"""What the sweep's log line says of each count (the counts keep their keys for callers)."""


def _swept(key: str, count: int) -> str:
    one, many, done = SWEPT[key]
    return f"{count} {one if count == 1 else many} {done}"


FUNCTIONS: list[Any] = [
    drain_raw_events,
    check_abandoned,
    dispatch_event,
    dispatch_events,
    sweep,
    enrich_checkout,
    # Quiet hours and rate limits defer a send with arq's Retry; the database bounds real attempts.
    func(send_step, name="send_step", max_tries=10_000),
    recovery_sweep,
    wake_snoozed,
    refresh_rollups,
    analytics_sweep,
    promote_winners,
    deliver_hook,
    deliver_hooks,
    hooks_sweep,
    retrain_scores,
    func(train_store_model, name="train_store_model", timeout=600),
]


class FollowUpWorker(Worker):
    """arq's worker, except that stopping always runs `on_shutdown` (which stops the drainers).

    arq 0.28's `close` awaits the jobs it just cancelled with a plain `gather`: a job cancelled
    before its `try` (picked in the last poll, still reading its definition from Redis) re-raises
    its cancellation there, and `on_shutdown` never runs, so the recovery drainers outlived the
    worker. This is that `close` with `return_exceptions=True`
    (tests/integration/test_worker_close.py). It uses arq's private `_handle_signals` and `_pool`,
    as arq's own `close` does (arq is pinned in pyproject)."""

    async def close(self) -> None:
        if not self._handle_signals:
            self.handle_sig(signal.SIGUSR1)
        if not self._pool:
            return
        await asyncio.gather(*self.tasks.values(), return_exceptions=True)
        await self.pool.delete(self.health_check_key)
        if self.on_shutdown:
            await self.on_shutdown(self.ctx)
        await self.pool.aclose(close_connection_pool=True)  # arq: close(), deprecated
        self._pool = None


def _sweep_schedule(interval: int) -> dict[str, Any]:
    if interval < 60:
        return {"second": set(range(0, 60, interval))}
    return {"second": {0}, "minute": set(range(0, 60, max(interval // 60, 1)))}


def build_worker(
    settings: Settings | None = None,
    *,
    manage_db: bool = True,
    burst: bool = False,
    **overrides: Any,
) -> FollowUpWorker:
    """A worker on the shared queue; `manage_db=False` when the caller already initialised Tortoise."""
    settings = settings or get_settings()
    wire()

    async def startup(ctx: dict[str, Any]) -> None:
        if manage_db:
            await init_db(settings)
            freeze_startup_heap()  # a worker process of its own (`followup worker`)
        if not burst:
            start_drainers(ctx)

    async def shutdown(ctx: dict[str, Any]) -> None:
        await stop_drainers(ctx)
        if manage_db:
            await close_db()

    options: dict[str, Any] = {
        "functions": FUNCTIONS,
        "cron_jobs": [
            cron(
                sweep,
                run_at_startup=True,
                **_sweep_schedule(settings.capture.sweep_interval_seconds),
            ),
            cron(
                recovery_sweep,
                run_at_startup=True,
                **_sweep_schedule(settings.capture.sweep_interval_seconds),
            ),
            cron(wake_snoozed, second={30}),
            cron(retrain_scores, minute={17}, second={0}),  # models older than a day retrain
            cron(advance_birthdays, minute={7}, second={0}),  # passed birthdays move to next year
            cron(enroll_timed, minute=set(range(0, 60, 5)), second={40}),  # timed triggers
            cron(promote_winners, minute={37}, second={0}),  # A/B winners of opted-in flows
            cron(refresh_rfm_cutoffs, hour={3}, minute={23}, second={0}),  # segments' RFM groups
            cron(analytics_sweep, **_sweep_schedule(settings.capture.sweep_interval_seconds)),
            cron(
                hooks_sweep,
                run_at_startup=True,
                **_sweep_schedule(settings.capture.sweep_interval_seconds),
            ),
        ],
        "redis_settings": arq_settings(settings),
        "queue_name": QUEUE,
        "on_startup": startup,
        "on_shutdown": shutdown,
        "keep_result": 0,  # results would block re-enqueueing a deterministic job id after a crash
        "max_jobs": 50,
        "job_timeout": 120,
        "max_tries": 8,
        "burst": burst,
        "handle_signals": False,
        "poll_delay": 0.2,
    }
    options.update(overrides)
    return FollowUpWorker(**options)

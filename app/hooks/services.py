"""Webhook subscriptions and deliveries: subscribe, fan an event out, attempt, retry, disable."""

from __future__ import annotations

import asyncio
import logging
import secrets
from datetime import datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from tortoise.expressions import F, Q
from tortoise.transactions import in_transaction

from app.config import HookSettings, get_settings
from app.core import events
from app.core.logging import ctx
from app.core.outbox import OutboxEvent
from app.core.retention import delete_oldest
from app.core.scheduling import enqueue
from app.core.timeutil import utcnow
from app.hooks import payloads, rules, sender, targets
from app.hooks.models import (
    DeliveryState,
    HookAttempt,
    HookDelivery,
    HookSubscription,
    SubscriptionSource,
)

log = logging.getLogger(__name__)
LOCK_MARGIN_SECONDS = 5  # the database writes after an answer; a dead worker's lock expires soon


class HookError(ValueError):
    """Bad subscription input, in words for the API caller or the settings page."""


async def subscribe(
    store_id: int, target_url: str, names: list[str], source: SubscriptionSource
) -> HookSubscription:
    """A new subscription with its own secret; the target is checked for SSRF first."""
    unknown = sorted(set(names) - set(payloads.WEBHOOK_EVENTS))
    if not names or unknown:
        raise HookError(
            f"unknown event {', '.join(unknown) or '(none)'}; one of: "
            + ", ".join(payloads.WEBHOOK_EVENTS)
        )
    try:
        url = await targets.check_target(target_url, get_settings().hooks.allow_private)
    except targets.TargetRefused as exc:
        raise HookError(str(exc)) from None
    return await HookSubscription.create(
        store_id=store_id,
        target_url=url,
        events=sorted(set(names)),
        secret=sender.new_secret(),
        source=source,
    )


async def unsubscribe(store_id: int, subscription_id: int) -> bool:
    """Delete the subscription and its log; False when the store has no such subscription."""
    deleted = await HookSubscription.filter(id=subscription_id, store_id=store_id).delete()
    return bool(deleted)


def _webhook_id(event_id: int, subscription_id: int, name: str) -> str:
    """Deterministic, so a fan-out that runs twice (after a crash) makes no second delivery."""
    return f"msg_{event_id}_{subscription_id}_{name.replace('.', '_')}"


async def fan_out(event: OutboxEvent, queue: ArqRedis | None) -> list[int]:
    """One delivery row per interested active subscription, all in one transaction; idempotent."""
    names = payloads.ANNOUNCES.get(event.name, ())
    subscriptions = await events.read_once(
        ("hook subscriptions", event.store_id),
        lambda: HookSubscription.filter(store_id=event.store_id, active=True),
    )
    rows: list[HookDelivery] = []
    now = utcnow()
    for name in names:
        interested = [s for s in subscriptions if name in (s.events or [])]
        body = await payloads.build(name, event) if interested else None
        if body is None:
            continue
        rows += [
            HookDelivery(
                subscription_id=s.id,
                store_id=event.store_id,
                event_id=event.id,
                event=name,
                webhook_id=_webhook_id(event.id, s.id, name),
                payload=body,
                next_attempt_at=now,
            )
            for s in interested
        ]
    if not rows:
        return []
    async with in_transaction() as conn:
        await HookDelivery.bulk_create(rows, ignore_conflicts=True, using_db=conn)
    fresh = await HookDelivery.filter(
        webhook_id__in=[r.webhook_id for r in rows], state=DeliveryState.PENDING, attempts=0
    ).only("id")
    ids = [d.id for d in fresh]
    for first in range(0, len(ids), BATCH):
        chunk = ids[first : first + BATCH]
        await enqueue(queue, "deliver_hooks", chunk, job_id=f"hooks:{event.id}:{first // BATCH}")
    return ids


async def schedule(
    queue: ArqRedis | None,
    delivery_id: int,
    attempts: int,
    when: datetime | None,
    prefix: str = "hook",
) -> bool:
    """Enqueue an attempt; the sweep uses its own prefix, since a lost or stuck job may still
    hold the usual id. Duplicates are harmless: only one worker claims the row."""
    job_id = f"{prefix}:{delivery_id}:{attempts}"
    return await enqueue(queue, "deliver_hook", delivery_id, job_id=job_id, defer_until=when)


async def _claim(ids: list[int], now: datetime, hold_seconds: int) -> list[HookDelivery]:
    """Take those of `ids` that are due and that nobody holds, in one statement; the claim token
    written with the lock says which rows this call won (another worker may have taken some)."""
    lock = now + timedelta(seconds=hold_seconds + LOCK_MARGIN_SECONDS)
    token = secrets.token_hex(8)
    won = await HookDelivery.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=now),
        id__in=ids,
        state=DeliveryState.PENDING,
        next_attempt_at__lte=now,
    ).update(locked_until=lock, attempts=F("attempts") + 1, claim=token)
    if not won:
        return []
    return list(
        await HookDelivery.filter(id__in=ids, claim=token)
        .select_related("subscription")
        .order_by("id")
    )


BATCH = 200  # deliveries one job claims and posts together


async def deliver(delivery_id: int, queue: ArqRedis | None) -> str:
    """One attempt of one delivery, if due (a batch of one): `not_due` when nobody could take it."""
    outcomes = await deliver_many([delivery_id], queue)
    return outcomes[0] if outcomes else "not_due"


async def deliver_many(ids: list[int], queue: ArqRedis | None) -> list[str]:
    """Claim whichever of `ids` are due in one statement, post them concurrently, log every attempt
    in one insert and settle the successes in one update; a failure settles or retries on its own.
    Answers one outcome per delivery taken (`delivered`, `retry`, `failed`, `gone`, `disabled`)."""
    settings = get_settings().hooks
    now = utcnow()
    taken = await _claim(ids, now, settings.timeout_seconds)
    outcomes: list[str] = []
    live: list[HookDelivery] = []
    for delivery in taken:
        if delivery.subscription.active:
            live.append(delivery)
        else:
            await _settle(delivery, DeliveryState.FAILED, None, "subscription disabled")
            outcomes.append("disabled")
    if not live:
        return outcomes
    # In flight together, up to the process's bound (`sender.MAX_IN_FLIGHT`).
    posted = await asyncio.gather(*(_post(delivery, settings, now) for delivery in live))
    answered = [(d, a) for d, a in zip(live, posted, strict=True) if a is not None]
    live, answers = [d for d, _ in answered], [a for _, a in answered]
    if not live:
        return outcomes
    await HookAttempt.bulk_create(
        [
            HookAttempt(
                delivery_id=delivery.id,
                at=now,
                status=answer.status,
                duration_ms=answer.duration_ms,
                error=answer.error,
                response=answer.response or None,
            )
            for delivery, answer in zip(live, answers, strict=True)
        ]
    )
    delivered = [(d, a) for d, a in zip(live, answers, strict=True) if a.ok]
    await _settle_delivered(delivered)
    outcomes += ["delivered"] * len(delivered)
    for delivery, answer in zip(live, answers, strict=True):
        if not answer.ok:
            outcomes.append(await _record(delivery, delivery.subscription, answer, queue))
    return outcomes


async def _post(
    delivery: HookDelivery, settings: HookSettings, now: datetime
) -> sender.Answer | None:
    """Sign and post one delivery to its subscription's target, checked and pinned first, when
    this process's turn comes. A delivery that waited for its turn past the claim's margin renews
    the claim first, and is left alone (None) if another worker took it meanwhile."""
    async with sender.turn():
        if utcnow() - now > timedelta(seconds=LOCK_MARGIN_SECONDS):
            lock = utcnow() + timedelta(seconds=settings.timeout_seconds + LOCK_MARGIN_SECONDS)
            mine = await HookDelivery.filter(
                id=delivery.id, claim=delivery.claim, state=DeliveryState.PENDING
            ).update(locked_until=lock)
            if not mine:
                return None
        return await _send(delivery, settings, now)


async def _send(delivery: HookDelivery, settings: HookSettings, now: datetime) -> sender.Answer:
    subscription = delivery.subscription
    try:
        target = await targets.pin_target(subscription.target_url, settings.allow_private)
    except targets.TargetRefused as exc:
        return sender.Answer(None, 0, str(exc))
    body = sender.encode(delivery.payload)
    headers = sender.signed_headers(subscription.secret, delivery.webhook_id, body, now)
    return await sender.attempt(
        target, headers, body, settings.timeout_seconds, settings.max_response_bytes
    )


async def _settle_delivered(delivered: list[tuple[HookDelivery, sender.Answer]]) -> None:
    """Every success of a batch in one update; a success ends its subscription's run of failures."""
    if not delivered:
        return
    at = utcnow()
    for delivery, answer in delivered:
        delivery.state = DeliveryState.DELIVERED
        delivery.locked_until = None
        delivery.next_attempt_at = None
        delivery.last_status = answer.status
        delivery.last_duration_ms = answer.duration_ms
        delivery.last_error = None
        delivery.delivered_at = at
    await HookDelivery.bulk_update(
        [delivery for delivery, _ in delivered],
        fields=[
            "state",
            "locked_until",
            "next_attempt_at",
            "last_status",
            "last_duration_ms",
            "last_error",
            "delivered_at",
        ],
    )
    recovered = {d.subscription_id for d, _ in delivered if d.subscription.consecutive_failures}
    if recovered:
        await HookSubscription.filter(id__in=recovered).update(consecutive_failures=0)


async def _record(
    delivery: HookDelivery,
    subscription: HookSubscription,
    answer: sender.Answer,
    queue: ArqRedis | None,
) -> str:
    error = answer.error or (None if answer.ok else f"HTTP {answer.status}")
    if answer.ok:
        await _settle(delivery, DeliveryState.DELIVERED, answer, None)
        if subscription.consecutive_failures:  # a success ends the run of failures
            await HookSubscription.filter(id=subscription.id).update(consecutive_failures=0)
        return "delivered"
    await HookSubscription.filter(id=subscription.id).update(
        consecutive_failures=F("consecutive_failures") + 1
    )
    if answer.status == rules.GONE:
        await _settle(delivery, DeliveryState.FAILED, answer, error)
        await disable(subscription.id, "the receiver answered 410 Gone")
        return "gone"
    delay = rules.next_delay(delivery.attempts, answer.retry_after)
    if delay is None:
        await _settle(delivery, DeliveryState.FAILED, answer, error)
        fresh = await HookSubscription.get(id=subscription.id)
        failures = fresh.consecutive_failures
        if failures >= rules.DISABLE_AFTER_FAILURES:
            await disable(subscription.id, f"{failures} failed attempts in a row")
        return "failed"
    due = utcnow() + delay
    await HookDelivery.filter(id=delivery.id).update(
        next_attempt_at=due,
        locked_until=None,
        last_status=answer.status,
        last_error=(error or "")[:500],
        last_duration_ms=answer.duration_ms,
    )
    await schedule(queue, delivery.id, delivery.attempts, due)
    log.info("webhook attempt failed, retrying", extra=ctx(delivery=delivery.id, error=error))
    return "retry"


async def _settle(
    delivery: HookDelivery,
    state: DeliveryState,
    answer: sender.Answer | None,
    error: str | None,
) -> None:
    values: dict[str, Any] = {"state": state, "locked_until": None, "next_attempt_at": None}
    if answer is not None:
        values.update(last_status=answer.status, last_duration_ms=answer.duration_ms)
    if state == DeliveryState.DELIVERED:
        values["delivered_at"] = utcnow()
    values["last_error"] = error[:500] if error else None
    await HookDelivery.filter(id=delivery.id).update(**values)


async def disable(subscription_id: int, reason: str) -> None:
    """Stop sending to a subscription; what was still pending for it fails with the reason."""
    async with in_transaction() as conn:
        await (
            HookSubscription.filter(id=subscription_id, active=True)
            .using_db(conn)
            .update(active=False, disabled_at=utcnow(), disabled_reason=reason[:255])
        )
        await (
            HookDelivery.filter(subscription_id=subscription_id, state=DeliveryState.PENDING)
            .using_db(conn)
            .update(
                state=DeliveryState.FAILED,
                next_attempt_at=None,
                last_error=f"subscription disabled: {reason}"[:500],
            )
        )
    log.warning(
        "webhook subscription disabled", extra=ctx(subscription=subscription_id, why=reason)
    )


async def send_again(store_id: int, delivery_id: int, queue: ArqRedis | None) -> bool:
    """Queue a delivery once more, with the same webhook-id; re-enables its subscription."""
    delivery = await HookDelivery.get_or_none(id=delivery_id, store_id=store_id)
    if delivery is None:
        return False
    await HookSubscription.filter(id=delivery.subscription_id).update(
        active=True, disabled_at=None, disabled_reason=None, consecutive_failures=0
    )
    await HookDelivery.filter(id=delivery.id).update(
        state=DeliveryState.PENDING, next_attempt_at=utcnow(), locked_until=None, attempts=0
    )
    await schedule(queue, delivery.id, 0, None)
    return True


async def due_deliveries(now: datetime, limit: int) -> list[tuple[int, int]]:
    """(id, attempts) of deliveries the database says are due and nobody holds: the sweep's list."""
    rows = (
        await HookDelivery.filter(
            Q(locked_until__isnull=True) | Q(locked_until__lt=now),
            state=DeliveryState.PENDING,
            next_attempt_at__lte=now,
        )
        .order_by("next_attempt_at")
        .limit(limit)
        .values_list("id", "attempts")
    )
    return [(int(i), int(a)) for i, a in rows]


async def samples(store_id: int, name: str, limit: int = 3) -> list[dict[str, Any]]:
    """The latest real payloads of a webhook event in this store, built as a delivery would be."""
    sources = [domain for domain, names in payloads.ANNOUNCES.items() if name in names]
    recent = (
        await OutboxEvent.filter(store_id=store_id, name__in=sources)
        .order_by("-id")
        .limit(limit * 3)
    )
    found: list[dict[str, Any]] = []
    for event in recent:
        body = await payloads.build(name, event)
        if body is not None:
            found.append(body)
        if len(found) >= limit:
            break
    return found


async def prune_deliveries(now: datetime) -> int:
    """Delete finished deliveries (delivered or given up) older than FOLLOWUP_WEBHOOK_LOG_DAYS,
    with their attempt log (the foreign key cascades). A pending one is never deleted: it is
    still owed. An event is fanned out once, when its outbox row is dispatched, so a deleted
    delivery is never created again."""
    cutoff = now - timedelta(days=get_settings().hooks.log_days)
    finished = Q(created_at__lt=cutoff) & ~Q(state=DeliveryState.PENDING)
    return await delete_oldest(HookDelivery, finished, "created_at")

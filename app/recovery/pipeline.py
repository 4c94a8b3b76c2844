"""Shared pieces of the send pipeline: dependencies, the step pointer, job ids, scheduling, sender slots."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from app.checkouts.models import Checkout, Contact
from app.config import Settings, get_settings
from app.core import events
from app.core.cache import TTLCache
from app.core.scheduling import enqueue
from app.core.timeutil import utcnow
from app.messaging.models import DeliveryStatus, Message
from app.messaging.senders import EmailSender, SmsSender
from app.recovery import rules
from app.recovery.discounts import DiscountIssuer
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep
from app.stores.models import Platform, Store

log = logging.getLogger(__name__)


FINAL_OR_DONE = frozenset(
    {
        DeliveryStatus.QUEUED,
        DeliveryStatus.SENT,
        DeliveryStatus.DELIVERED,
        DeliveryStatus.UNDELIVERED,
        DeliveryStatus.FAILED,
        DeliveryStatus.UNKNOWN,
        DeliveryStatus.CANCELLED,
    }
)


class Later(Exception):
    """Come back in `seconds` (quiet hours, throttle, backoff, another worker's send in flight)."""

    def __init__(self, seconds: float, reason: str) -> None:
        super().__init__(reason)
        self.seconds = max(seconds, 0.05)
        self.reason = reason


@dataclass
class Deps:
    settings: Settings
    sms: SmsSender
    email: EmailSender
    redis: Any = None
    queue: Any = None
    issuer: DiscountIssuer | None = None
    enrich: bool = True
    clock: Callable[[], datetime] = utcnow


def idempotency_key(enrollment_id: int, step: int) -> str:
    return f"enrollment:{enrollment_id}:step:{step}"


def job_id(enrollment_id: int, step: int) -> str:
    return f"send:{enrollment_id}:{step}"


def _job_grace() -> timedelta | None:
    """With batches on (PostgreSQL), drainers send steps at their time and remove their jobs; a
    job runs only if no drainer did, this long after the due time."""
    settings = get_settings()
    recovery, url = settings.recovery, settings.database.url
    if recovery.batch_size <= 0 or not url.startswith(("postgres", "asyncpg")):
        return None
    return timedelta(seconds=recovery.job_grace_seconds)


async def schedule(queue: Any, enrollment_id: int, step: int, due: datetime | None) -> bool:
    """Best effort and deduplicated by job id; past due times run now (arq rejects old deferrals)."""
    now = utcnow()
    grace = _job_grace()
    if grace:
        due = max(due or now, now) + grace
    defer = due if due and due > now else None
    return await enqueue(
        queue,
        "send_step",
        enrollment_id,
        step,
        job_id=job_id(enrollment_id, step),
        defer_until=defer,
    )


STEPS_TTL = 2.0  # seconds a worker reuses a flow's steps; edits reach every worker within this
_steps: TTLCache[list[FlowStep]] = TTLCache(ttl=STEPS_TTL, max_entries=1000)


async def ordered_steps(flow_id: int | None) -> list[FlowStep]:
    """A flow's steps in order, cached briefly: every send of every checkout needs them."""
    if flow_id is None:
        return []
    steps = await _steps.get(flow_id, lambda: FlowStep.filter(flow_id=flow_id).order_by("position"))
    return steps or []


def forget_steps(flow_id: int | None = None) -> None:
    """One flow's cached steps (after an edit), or every flow's."""
    if flow_id is None:
        _steps.clear()
    else:
        _steps.forget(flow_id)


def enriches(deps: Deps, store: Store) -> bool:
    """Whether sends of this store first fetch Shopify line-item images (slow, external)."""
    return deps.enrich and store.platform == Platform.SHOPIFY


def needs_preparation(deps: Deps, store: Store, step: FlowStep) -> bool:
    """Slow external work before the lock (a discount code, Shopify images): such a step goes
    through its own job, never a batch that holds many rows locked."""
    return bool(step.incentive) or enriches(deps, store)


@dataclass
class Claim:
    outcome: str  # send | failed | stale | stopped | skipped | deferred | advanced | in_flight
    message: Message | None = None
    contact: Contact | None = None
    reason: str = ""
    until: datetime | None = None
    wait: float = 0.0  # seconds until the sender's reserved slot, slept after the commit
    pointer: Pointer | None = None  # skipped, failed, advanced: where the pointer went
    checkout: Checkout | None = None  # send: read under the lock, for the last order check


@dataclass(frozen=True)
class Pointer:
    """Where an enrollment's pointer went: the next step and when it is due (None: nothing to
    schedule -- the flow ended, or the enrollment is no longer active)."""

    step: int
    due: datetime | None


def next_pointer(abandoned_at: datetime, step_index: int, steps: list[FlowStep]) -> Pointer:
    """The step after `step_index` and its due time; pure, so advance and the recording SQL agree."""
    nxt = step_index + 1
    if nxt >= len(steps):
        return Pointer(nxt, None)
    return Pointer(nxt, rules.step_due(abandoned_at, steps[nxt].delay_seconds))


async def advance(
    conn: Any, enrollment: Enrollment, step_index: int, steps: list[FlowStep], now: datetime
) -> Pointer | None:
    """Move the pointer past `step_index` once (conditional on it still being there); None when
    it was not there any more (someone else moved it, and schedules what follows)."""
    pointer = next_pointer(enrollment.abandoned_at, step_index, steps)
    query = Enrollment.filter(id=enrollment.id, next_step=step_index)
    if conn is not None:
        query = query.using_db(conn)
    moved = {"next_step": pointer.step, "next_due_at": pointer.due, "attempts": 0}
    active = query.filter(status=EnrollmentStatus.ACTIVE)
    if pointer.due is None:
        done = {"status": EnrollmentStatus.COMPLETED, "completed_at": now}
        if await active.update(**moved, **done):
            return pointer
    elif await active.update(**moved):
        return pointer
    # Not active (stopped while its step was in flight): the pointer still moves, nothing follows.
    return Pointer(pointer.step, None) if await query.update(**moved) else None


async def schedule_after(deps: Deps, enrollment_id: int, pointer: Pointer | None) -> None:
    """Queue the step a pointer move made due, if any; the caller already knows it (no read)."""
    if pointer is not None and pointer.due is not None:
        await schedule(deps.queue, enrollment_id, pointer.step, pointer.due)


async def notify_changed(message_id: int) -> None:
    if not events.listening(events.MESSAGE_CHANGED):
        return
    message = await Message.get_or_none(id=message_id)
    if message:
        await events.notify(events.MESSAGE_CHANGED, message=message)


async def notify_message(message: Message) -> None:
    """Like `notify_changed` for a row whose current state this process just wrote."""
    if events.listening(events.MESSAGE_CHANGED):
        await events.notify(events.MESSAGE_CHANGED, message=message)


def is_current(enrollment: Enrollment | None, step_index: int) -> bool:
    return (
        enrollment is not None
        and enrollment.status == EnrollmentStatus.ACTIVE
        and enrollment.next_step == step_index
    )

"""Domain event catalogue and dispatch: every cross-domain reaction is listed and routed here."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar, cast

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from app.core.logging import ctx
from app.core.outbox import OutboxEvent

log = logging.getLogger(__name__)

# The catalogue. A name here is a promise: the payload carries `store_id` and the subject's id.
CHECKOUT_ABANDONED = "checkout.abandoned"
CHECKOUT_COMPLETED = "checkout.completed"
CHECKOUT_RECOVERED = "checkout.recovered"
STORE_UNINSTALLED = "store.uninstalled"
CONTACT_OPTED_OUT = "contact.opted_out"  # subject: contact; payload: channel, source
SHOPPER_REPLIED = "shopper.replied"  # subject: inbound message; payload: contact_id, checkout_id
ORDER_RECORDED = (
    "order.recorded"  # subject: order; payload: placed_at (ISO or null); each recording
)
CONTACT_OPTED_IN = "contact.opted_in"  # subject: contact; payload: channel, source
MESSAGE_SENT = "message.sent"  # subject: outbound message; payload: status
MESSAGE_DELIVERED = "message.delivered"  # subject: outbound message
MESSAGE_FAILED = "message.failed"  # subject: outbound message; payload: error_code
CONVERSATION_ASSIGNED = "conversation.assigned"  # subject: conversation; payload: agent_id
ENROLLMENT_STOPPED = "enrollment.stopped"  # subject: enrollment; payload: reason
LINK_CLICKED = "link.clicked"  # subject: click; payload: checkout_id, message_id
CATALOGUE = frozenset(
    {
        CHECKOUT_ABANDONED,
        CHECKOUT_COMPLETED,
        CHECKOUT_RECOVERED,
        STORE_UNINSTALLED,
        CONTACT_OPTED_OUT,
        SHOPPER_REPLIED,
        ORDER_RECORDED,
        CONTACT_OPTED_IN,
        MESSAGE_SENT,
        MESSAGE_DELIVERED,
        MESSAGE_FAILED,
        CONVERSATION_ASSIGNED,
        ENROLLMENT_STOPPED,
        LINK_CLICKED,
    }
)

# Notifications are the other kind: fire-and-forget, for live views only, never for work that must
# happen (that goes through the outbox above). Listeners typically publish to Redis for websockets.
# data: message (the saved Message row); optionally conversation and contact, rows the caller
# already holds, so a listener need not read them again. Listeners accept and may ignore both.
MESSAGE_CHANGED = "message.changed"
NOTIFICATIONS = frozenset({MESSAGE_CHANGED})

Handler = Callable[[OutboxEvent], Awaitable[None]]
_handlers: dict[str, list[Handler]] = {}


def subscribe(name: str) -> Callable[[Handler], Handler]:
    """Register an idempotent handler: it may run more than once for one event after a crash."""
    _require_known(name)

    def register(handler: Handler) -> Handler:
        if handler not in _handlers.setdefault(name, []):
            _handlers[name].append(handler)
        return handler

    return register


def handlers_for(name: str) -> list[Handler]:
    return list(_handlers.get(name, ()))


def dedupe_key(name: str, store_id: int, subject_id: int, qualifier: str | None = None) -> str:
    return f"{dedupe_prefix(name, store_id)}{subject_id}" + (f":{qualifier}" if qualifier else "")


def dedupe_prefix(name: str, store_id: int) -> str:
    """The key up to its subject, for a statement that appends a subject id it creates itself.

    Every outbox row's key starts here, so this is where an unknown event name is refused."""
    _require_known(name)
    return f"{name}:{store_id}:"


def _require_known(name: str) -> None:
    if name not in CATALOGUE:
        raise ValueError(f"unknown domain event {name!r}")


async def record(
    name: str,
    store_id: int,
    subject_id: int,
    payload: dict[str, Any],
    using: Any,
    qualifier: str | None = None,
) -> int:
    """Write the event inside the caller's transaction, which has already won its state change.

    The dedupe key makes a replayed transition fail loudly instead of announcing itself twice;
    events that may recur for one subject (an opt-out after a re-opt-in) pass a `qualifier`.
    """
    key = dedupe_key(name, store_id, subject_id, qualifier)
    event = await OutboxEvent.create(
        name=name,
        store_id=store_id,
        subject_id=subject_id,
        payload=payload,
        dedupe_key=key,
        using_db=using,
    )
    return event.id


T = TypeVar("T")
_listeners: dict[str, list[Callable[..., Awaitable[None]]]] = {}


def listen(name: str) -> Callable[[Callable[..., Awaitable[None]]], Callable[..., Awaitable[None]]]:
    if name not in NOTIFICATIONS:
        raise ValueError(f"unknown notification {name!r}")

    def register(listener: Callable[..., Awaitable[None]]) -> Callable[..., Awaitable[None]]:
        if listener not in _listeners.setdefault(name, []):
            _listeners[name].append(listener)
        return listener

    return register


def listening(name: str) -> bool:
    """Whether anyone listens, so callers can skip building a notification nobody reads."""
    return bool(_listeners.get(name))


class Gathering(Generic[T]):
    """What a listener puts aside inside `batched()` (`hold`), handed to `flush` once, when the
    outermost batch ends; a failing flush is logged, like a failing listener. Tasks started inside
    the batch share it. Register `scope` with `batch_scope`."""

    def __init__(self, name: str, flush: Callable[[list[T]], Awaitable[None]]) -> None:
        self.name = name
        self._flush = flush
        self._held: ContextVar[list[T] | None] = ContextVar(name, default=None)

    def hold(self, item: T) -> bool:
        """Put `item` aside for the batch's end; False outside a batch (do the work now)."""
        held = self._held.get()
        if held is None:
            return False
        held.append(item)
        return True

    @asynccontextmanager
    async def scope(self) -> AsyncIterator[None]:
        if self._held.get() is not None:  # already gathering: the outer batch flushes
            yield
            return
        held: list[T] = []
        token = self._held.set(held)
        try:
            yield
        finally:
            self._held.reset(token)
            if held:
                try:
                    await self._flush(held)
                except Exception:
                    log.exception("batched work failed", extra=ctx(work=self.name, items=len(held)))


_batch_scopes: list[Callable[[], AbstractAsyncContextManager[None]]] = []


def batch_scope(
    scope: Callable[[], AbstractAsyncContextManager[None]],
) -> Callable[[], AbstractAsyncContextManager[None]]:
    """A listener's way of gathering the work of many notifications made inside `batched()`."""
    if scope not in _batch_scopes:
        _batch_scopes.append(scope)
    return scope


@asynccontextmanager
async def batched() -> AsyncIterator[None]:
    """Notifications made inside (and in tasks started inside) belong to one batch: a listener
    that registered a `batch_scope` does its part of them once, when the batch ends."""
    async with AsyncExitStack() as stack:
        for scope in _batch_scopes:
            await stack.enter_async_context(scope())
        yield


async def notify(name: str, **data: Any) -> None:
    """Tell live views; a failing listener is logged and never breaks the caller."""
    for listener in _listeners.get(name, ()):
        try:
            await listener(**data)
        except Exception:
            log.exception("notification listener failed", extra=ctx(notification=name))


async def dispatch(event_id: int) -> bool:
    """Run the handlers of one event, then mark it dispatched; a failure leaves it for the sweep."""
    return await dispatch_many([event_id]) == 1


_reads: ContextVar[dict[Hashable, Any] | None] = ContextVar("dispatch reads", default=None)


async def read_once(key: Hashable, read: Callable[[], Awaitable[T]]) -> T:
    """What a handler reads about a store (its webhook subscriptions, its Segment key), read once
    per `dispatch_many`: a batch of sends' events share their stores. Outside one, read now.
    Handlers share what is read: they must not change it."""
    reads = _reads.get()
    if reads is None:
        return await read()
    if key not in reads:
        reads[key] = await read()
    return cast(T, reads[key])


class DispatchFailed(Exception):
    """Some events' handlers failed; the others were dispatched and are not run again."""


async def dispatch_many(event_ids: Sequence[int]) -> int:
    """Run the handlers of each event not yet dispatched, in id order, then mark those that
    succeeded dispatched in one statement; returns how many this call marked.

    A failing event is counted (attempts, last error) and the rest still run; then DispatchFailed
    is raised (the job fails, as a single dispatch does) and the sweep queues the failed event
    again, alone, after its grace: what was dispatched is not run twice."""
    pending = await OutboxEvent.filter(id__in=list(event_ids), dispatched_at=None).order_by("id")
    done: list[int] = []
    failed: list[Exception] = []
    token = _reads.set({})
    try:
        for event in pending:
            try:
                for handler in handlers_for(event.name):
                    await handler(event)
            except Exception as exc:
                failed.append(exc)
                await OutboxEvent.filter(id=event.id).update(
                    attempts=event.attempts + 1, last_error=repr(exc)
                )
                log.exception("event handler failed", extra=ctx(event=event.name, id=event.id))
                continue
            done.append(event.id)
    finally:
        _reads.reset(token)
    won = 0
    if done:
        async with in_transaction() as conn:
            won = (
                await OutboxEvent.filter(id__in=done, dispatched_at=None)
                .using_db(conn)
                .update(dispatched_at=datetime.now(UTC), attempts=F("attempts") + 1)
            )
    if failed:
        first = failed[0]
        raise DispatchFailed(
            f"{len(failed)} of {len(pending)} events failed, first: {first!r}"
        ) from first
    return won

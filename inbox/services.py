"""Conversation verbs: find or open, assign (by hand or round-robin), snooze, close, reopen, notes, reads."""

from __future__ import annotations

import functools
import itertools
import logging
import time
import uuid
from datetime import datetime
from typing import Any

from redis.asyncio import Redis
from tortoise.expressions import F, RawSQL
from tortoise.functions import Count
from tortoise.transactions import in_transaction

from app.accounts.guards import CurrentAgent
from app.accounts.models import Agent
from app.checkouts.models import Checkout, CheckoutStatus, Contact
from app.core import events
from app.core.compiled import CompiledSelect, insert_values
from app.core.errors import ApiError
from app.core.logging import ctx
from app.core.outbox import OutboxEvent
from app.core.scheduling import dispatch_soon
from app.core.timeutil import utcnow
from app.messaging import response_time
from app.messaging.models import Author, Channel, Direction, Message
from app.stores.models import Store
from inbox import consent, live, presence
from inbox.models import CannedReply, Conversation, ConversationStatus, FirstResponse, ReadMarker
from inbox.rules import Candidate, pick_assignee, preview, snooze_valid
from inbox.schemas import conversation_json, message_json

log = logging.getLogger(__name__)
LIVE_CHECKOUT = (CheckoutStatus.OPEN, CheckoutStatus.ABANDONED)


async def scoped(store_id: int, conversation_id: int) -> Conversation:
    """Every lookup names the store: another store's id is simply not found, never forbidden."""
    conv = await Conversation.get_or_none(id=conversation_id, store_id=store_id)
    if conv is None:
        raise ApiError(404, "not_found", f"no conversation {conversation_id} in this store")
    return conv


async def latest_checkout(store_id: int, contact_id: int, conn: Any = None) -> Checkout | None:
    return (
        await Checkout.filter(store_id=store_id, contact_id=contact_id, status__in=LIVE_CHECKOUT)
        .using_db(conn)
        .order_by("-last_activity_at")
        .first()
    )


# Read with the conversation in the same statement: the live cart to attach and the assignee's
# name for the live frame, so an inbound text needs no further reads. Plain SQL that PostgreSQL
# and SQLite both accept, correlated to the outer row only (no parameters).
_LIVE_CHECKOUT_ID = RawSQL(
    '(SELECT "k"."id" FROM "checkout" "k" WHERE "k"."store_id" = "inbox_conversation"."store_id"'
    ' AND "k"."contact_id" = "inbox_conversation"."contact_id"'
    f' AND "k"."status" IN ({", ".join(repr(str(s)) for s in LIVE_CHECKOUT)})'
    ' ORDER BY "k"."last_activity_at" DESC LIMIT 1)'
)
_CONTACT_ALIAS = "inbox_conversation__contact"  # Tortoise's alias for select_related("contact")
_ASSIGNEE_NAME = RawSQL(
    '(SELECT "a"."name" FROM "agent" "a" WHERE "a"."id" = "inbox_conversation"."assignee_id")'
)


def _latest(query: Any, conn: Any, of: tuple[str, ...] = ()) -> Any:
    """The newest matching conversation, locked, with the live cart and the assignee's name."""
    return (
        query.annotate(live_checkout_id=_LIVE_CHECKOUT_ID, assignee_name=_ASSIGNEE_NAME)
        .select_for_update(of=of)
        .using_db(conn)
        .order_by("-id")
        .first()
    )


async def conversation_for(
    store_id: int, contact_id: int, now: datetime, conn: Any, started_by: str = "shopper"
) -> tuple[Conversation, bool]:
    """The contact's live conversation, else their latest closed one reopened, else a new one.

    The row is locked until the caller's transaction ends, so an agent's concurrent assign or
    close is ordered after this message and the caller may describe the row as it leaves it.
    """
    conv = await _latest(Conversation.filter(store_id=store_id, contact_id=contact_id), conn)
    if conv is None:
        checkout = await latest_checkout(store_id, contact_id, conn)
        conv = await Conversation.create(
            store_id=store_id,
            contact_id=contact_id,
            checkout_id=checkout.id if checkout else None,
            started_by=started_by,
            opened_at=now,
            waiting_since=now,
            using_db=conn,
        )
        conv.assignee_name = None
        return conv, True
    return conv, await _reopen(conv, now, conn)


async def thread_of_phone(
    store_id: int, phone: str, now: datetime, conn: Any
) -> Conversation | None:
    """`conversation_for` in one statement for a number that has a thread; None when it has none.

    The contact comes along (`conv.contact`) and only its row is locked: every inbound text
    locks its contact first, then the conversation (a first text does, through
    `conversation_for`), so two texts can never wait on each other in opposite order. Locking
    both rows here deadlocked against a simultaneous first text from the same number.
    """
    conv = await _THREAD_OF_PHONE.first(conn, store_id, phone)
    if conv is not None:
        await _reopen(conv, now, conn)
    return conv


def _thread_of_phone_query(store_id: int, phone: str) -> Any:
    return (
        Conversation.filter(store_id=store_id, contact__phone=phone)
        .select_related("contact")
        .annotate(live_checkout_id=_LIVE_CHECKOUT_ID, assignee_name=_ASSIGNEE_NAME)
        .select_for_update(of=(_CONTACT_ALIAS,))
        .order_by("-id")
    )


# Every inbound text runs this read: built once, bound per text (app/core/compiled.py).
_THREAD_OF_PHONE: CompiledSelect[Conversation] = CompiledSelect(
    _thread_of_phone_query, -7_301_000_001, "\x00placeholder"
)


async def _reopen(conv: Conversation, now: datetime, conn: Any) -> bool:
    """Reopen a snoozed or closed thread and follow the live cart; in memory as in the row."""
    changes = _reopen_changes(conv, now)
    if changes:
        await Conversation.filter(id=conv.id).using_db(conn).update(**changes)
        for field, value in changes.items():
            setattr(conv, field, value)
    return bool(changes.get("status"))


def _reopen_changes(conv: Conversation, now: datetime) -> dict[str, Any]:
    live_checkout = getattr(conv, "live_checkout_id", None)  # annotated by the inbox query
    changes: dict[str, Any] = {}
    if live_checkout and live_checkout != conv.checkout_id:
        changes["checkout_id"] = live_checkout
    if conv.status != ConversationStatus.OPEN:
        changes |= {"status": ConversationStatus.OPEN, "snoozed_until": None, "closed_at": None}
        if conv.status == ConversationStatus.CLOSED:
            changes |= {"opened_at": now, "waiting_since": now, **_CLOCK_RESET}
    return changes


# A new opening of a thread measures its own first response (app/messaging/response_time.py).
_CLOCK_RESET: dict[str, Any] = {
    "response_started_at": None,
    "response_channel": None,
    "response_due_at": None,
    "responded_at": None,
}


async def record_message(
    conv: Conversation,
    msg: Message,
    conn: Any,
    store: Store | None = None,
    awaits_answer: bool = True,
) -> None:
    """Keep the list's preview, ordering, unread counter and first-response clock in step with
    the thread. `awaits_answer=False`: a shopper message that needs no agent (STOP, HELP).

    `conv` is updated in memory too, so the live frame can be built without reading it back.
    """
    changes: dict[str, Any] = {
        "last_message_at": msg.created_at,
        "last_message_preview": _preview_of(msg),
        "last_message_id": msg.id,
    }
    inbound = msg.direction == Direction.INBOUND
    if inbound:
        changes["inbound_count"] = F("inbound_count") + 1
    await Conversation.filter(id=conv.id).using_db(conn).update(**changes)
    conv.last_message_at = changes["last_message_at"]
    conv.last_message_preview = changes["last_message_preview"]
    conv.last_message_id = msg.id
    if inbound:
        conv.inbound_count += 1
    if inbound and msg.author == Author.SHOPPER and awaits_answer:
        await _start_clock(conv, msg, conn, store)
    elif msg.direction == Direction.OUTBOUND and msg.author == Author.AGENT:
        await _stop_clock(conv, msg, conn)


async def record_text(
    conv: Conversation,
    msg: Message,
    conn: Any,
    store: Store,
    event: str,
    payload: dict[str, Any],
) -> int:
    """Store a shopper's text that awaits an answer, keep its thread in step (`record_message`)
    and record its domain event in the caller's transaction; returns the event's outbox id.

    On PostgreSQL the three writes are one statement (data-modifying CTEs): every inbound text
    runs this, and each round trip costs the request more CPU in system calls than the ORM
    spends building it. Elsewhere they are the ORM's three. tests/inbox/test_record_text.py
    holds both to the same rows.
    """
    if conn.capabilities.dialect != "postgres":
        await msg.save(using_db=conn, force_create=True)
        await record_message(conv, msg, conn, store)
        return await events.record(event, store.id, msg.id, payload, using=conn)
    message_columns, message_values = insert_values(msg, conn)  # sets msg.created_at
    outbox = OutboxEvent(
        name=event, store_id=store.id, subject_id=0, payload=payload, dedupe_key=""
    )
    outbox_columns, outbox_values = insert_values(outbox, conn)
    clock = _clock_to_start(conv, msg, store)
    preview_text = _preview_of(msg)
    field = Conversation._meta.fields_map
    params: list[Any] = [
        *message_values,
        message_values[message_columns.index("created_at")],
        preview_text,
        *(
            field[column].to_db_value(getattr(clock, attr), Conversation)
            for column, attr in _CLOCK_COLUMNS
            if clock is not None
        ),
        conv.id,
        events.dedupe_prefix(event, store.id),  # refuses an unknown event name
        *(v for c, v in zip(outbox_columns, outbox_values, strict=True) if c not in _MADE_HERE),
    ]
    sql = _text_sql(tuple(message_columns), tuple(outbox_columns), clock is not None)
    _, rows = await conn.execute_query(sql, params)
    row = rows[0]
    msg.id, msg._saved_in_db = row["message_id"], True
    conv.last_message_at, conv.last_message_preview = msg.created_at, preview_text
    conv.last_message_id = msg.id
    conv.inbound_count += 1
    if clock is not None and row["started_at"] == clock.started_at:
        conv.response_started_at, conv.response_channel = clock.started_at, clock.channel
        conv.response_due_at = clock.due_at
    outbox_id: int = row["outbox_id"]
    return outbox_id


# The clock's columns, with the `response_time.Clock` field each takes its value from.
_CLOCK_COLUMNS = (
    ("response_started_at", "started_at"),
    ("response_channel", "channel"),
    ("response_due_at", "due_at"),
)
# The outbox row's columns that the new message's id decides, inside the statement ({prefix}:
# the placeholder of `events.dedupe_prefix`).
_MADE_HERE = {
    "subject_id": '(SELECT "id" FROM m)',
    "dedupe_key": '{prefix} || (SELECT "id" FROM m)',
}


@functools.lru_cache(maxsize=8)
def _text_sql(
    message_columns: tuple[str, ...], outbox_columns: tuple[str, ...], clock: bool
) -> str:
    """`record_text`'s statement for one shape (the clock starting or not). Its placeholders come
    in the order `record_text` lists its parameters."""
    numbers = itertools.count(1)

    def bind() -> str:
        return f"${next(numbers)}"

    message_sql = _insert_sql("message", message_columns, [bind() for _ in message_columns], '"id"')
    sets = [
        f'"last_message_at"={bind()}',
        f'"last_message_preview"={bind()}',
        '"last_message_id"=(SELECT "id" FROM m)',
        '"inbound_count"="inbound_count"+1',
    ]
    if clock:  # the same guard as `_start_clock`, on the row as it is now
        sets += [
            f'"{column}"=CASE WHEN "response_started_at" IS NULL AND "responded_at" IS NULL'
            f' THEN {bind()} ELSE "{column}" END'
            for column, _ in _CLOCK_COLUMNS
        ]
    thread_sql = (
        f'UPDATE "inbox_conversation" SET {",".join(sets)} WHERE "id"={bind()}'
        ' RETURNING "response_started_at"'
    )
    prefix = bind()
    placed = [
        _MADE_HERE[c].format(prefix=prefix) if c in _MADE_HERE else bind() for c in outbox_columns
    ]
    outbox_sql = _insert_sql("outbox_event", outbox_columns, placed, '"id"')
    return (
        f"WITH m AS ({message_sql}), t AS ({thread_sql}), o AS ({outbox_sql}) SELECT"
        ' (SELECT "id" FROM m) AS message_id, (SELECT "id" FROM o) AS outbox_id,'
        ' (SELECT "response_started_at" FROM t) AS started_at'
    )


def _insert_sql(table: str, columns: tuple[str, ...], values: list[str], returning: str) -> str:
    names = ",".join(f'"{c}"' for c in columns)
    return f'INSERT INTO "{table}" ({names}) VALUES ({",".join(values)}) RETURNING {returning}'


def _preview_of(msg: Message) -> str:
    return preview(msg.body or ("[media]" if msg.media_urls else ""))


def _clock_to_start(conv: Conversation, msg: Message, store: Store) -> response_time.Clock | None:
    if conv.response_started_at is not None or conv.responded_at is not None:
        return None
    targets = response_time.targets_from_settings(store.settings)
    at = msg.created_at or utcnow()
    return response_time.on_shopper_message(clock_of(conv), at, str(msg.channel), targets)


def clock_of(conv: Conversation) -> response_time.Clock:
    return response_time.Clock(
        conv.response_started_at, conv.response_channel, conv.response_due_at, conv.responded_at
    )


async def _start_clock(conv: Conversation, msg: Message, conn: Any, store: Store | None) -> None:
    """The opening's first unanswered message starts the clock; the row's count decides."""
    if conv.response_started_at is not None or conv.responded_at is not None:
        return
    if store is None:
        store = await Store.filter(id=conv.store_id).using_db(conn).get()
    clock = _clock_to_start(conv, msg, store)
    if clock is None:
        return
    started = await (
        Conversation.filter(id=conv.id, response_started_at=None, responded_at=None)
        .using_db(conn)
        .update(
            response_started_at=clock.started_at,
            response_channel=clock.channel,
            response_due_at=clock.due_at,
        )
    )
    if started:
        conv.response_started_at, conv.response_channel = clock.started_at, clock.channel
        conv.response_due_at = clock.due_at


async def _stop_clock(conv: Conversation, msg: Message, conn: Any) -> None:
    """The first agent reply after it stops a running clock, once: the conditional update decides
    between two agents answering at once, and only the winner records the figure."""
    row = (
        await Conversation.filter(id=conv.id)
        .using_db(conn)
        .only("id", "response_started_at", "response_channel", "response_due_at", "responded_at")
        .first()
    )
    if row is None or row.response_started_at is None or row.responded_at is not None:
        return
    clock = response_time.on_agent_reply(clock_of(row), msg.created_at or utcnow())
    stopped = await (
        Conversation.filter(id=conv.id, responded_at=None)
        .exclude(response_started_at=None)
        .using_db(conn)
        .update(responded_at=clock.answered_at)
    )
    if not stopped:
        return
    conv.response_started_at, conv.response_channel = clock.started_at, clock.channel
    conv.response_due_at, conv.responded_at = clock.due_at, clock.answered_at
    await FirstResponse.create(
        store_id=conv.store_id,
        conversation_id=conv.id,
        channel=clock.channel or str(msg.channel),
        asked_at=clock.started_at,
        answered_at=clock.answered_at,
        seconds=clock.seconds or 0,
        target_seconds=clock.target_seconds or 0,
        agent_id=msg.agent_id,
        using_db=conn,
    )


async def agent_names(store_id: int) -> dict[int, str]:
    return {a.id: a.name for a in await Agent.filter(store_id=store_id).only("id", "name")}


async def summary(
    conv: Conversation,
    agent_id: int | None = None,
    contact: Contact | None = None,
    names: dict[int, str] | None = None,
) -> dict[str, Any]:
    """A thread as the list shows it; pass the contact or the store's agent names when held."""
    if contact is None or contact.id != conv.contact_id:
        contact = await Contact.get(id=conv.contact_id)
    assignee = None
    if assignee_id := conv.assignee_id:
        if names is None:
            agent = await Agent.get_or_none(id=assignee_id)
            names = {agent.id: agent.name} if agent else {}
        assignee = {"id": assignee_id, "name": names[assignee_id]} if assignee_id in names else None
    unread = None
    if agent_id is not None:
        marker = await ReadMarker.get_or_none(conversation_id=conv.id, agent_id=agent_id)
        unread = max(conv.inbound_count - (marker.seen_inbound if marker else 0), 0)
    return conversation_json(conv, contact, assignee, unread)


async def announce(conv_id: int, kind: str = "conversation", **extra: Any) -> Conversation:
    """Tell every agent of the store what the conversation looks like now; returns the row read."""
    conv = await Conversation.get(id=conv_id)
    event = {"type": kind, "conversation": await summary(conv), **extra}
    await live.publish(conv.store_id, event)
    return conv


async def announce_message(msg: Message, contact: Contact | None = None) -> None:
    """Automated texts and emails carry no conversation id: they show in the contact's latest thread."""
    await announce_messages([msg], contact)


async def announce_messages(msgs: list[Message], contact: Contact | None = None) -> None:
    """Each message's frame to its thread's agents: its own thread, else its contact's latest (an
    automated send carries no conversation id). For many messages at once (a batch of recovery
    sends) the threads, contacts and agents' names are read in one query each; `contact`, when
    the caller holds it, is not read again."""
    by_id = [m.conversation_id for m in msgs if m.conversation_id is not None]
    by_contact = [m for m in msgs if m.conversation_id is None and m.contact_id is not None]
    threads = {c.id: c for c in await Conversation.filter(id__in=by_id)} if by_id else {}
    latest: dict[tuple[int, int], Conversation] = {}
    if by_contact:
        found = Conversation.filter(
            store_id__in={m.store_id for m in by_contact},
            contact_id__in={m.contact_id for m in by_contact},
        ).order_by("-id")
        for conv in await found:  # the newest of each contact's threads
            latest.setdefault((conv.store_id, conv.contact_id), conv)
    shown: list[tuple[Message, Conversation]] = []
    for msg in msgs:
        if msg.conversation_id is not None:
            thread = threads.get(msg.conversation_id)
        else:
            thread = latest.get((msg.store_id, msg.contact_id or 0))
        if thread is not None and thread.store_id == msg.store_id:
            shown.append((msg, thread))
    if not shown:
        return
    contacts = {contact.id: contact} if contact is not None else {}
    unread = {conv.contact_id for _, conv in shown} - contacts.keys()
    if unread:
        contacts |= {c.id: c for c in await Contact.filter(id__in=unread)}
    stores = {conv.store_id for msg, conv in shown if msg.agent_id or conv.assignee_id}
    names = {store_id: await agent_names(store_id) for store_id in sorted(stores)}
    for msg, conv in shown:
        known = names.get(conv.store_id, {})
        await live.publish(
            conv.store_id,
            {
                "type": "message",
                "message": {**message_json(msg, known), "conversation_id": conv.id},
                "conversation": await summary(conv, contact=contacts[conv.contact_id], names=known),
            },
        )


def message_frame(msg: Message, conv: Conversation, contact: Contact) -> dict[str, Any]:
    """The live frame for a message, from rows the caller holds (see `conversation_for`).

    An agent's assign or close that commits between the caller's read and its own UPDATE of the
    thread is not in this frame; that change publishes its own frame right after.
    """
    assignee_id = conv.assignee_id
    name = getattr(conv, "assignee_name", None)
    assignee = {"id": assignee_id, "name": name} if assignee_id and name is not None else None
    return {
        "type": "message",
        "message": {**message_json(msg), "conversation_id": conv.id},
        "conversation": conversation_json(conv, contact, assignee, None),
    }


async def assign(store_id: int, conv_id: int, agent_id: int | None) -> Conversation:
    conv = await scoped(store_id, conv_id)
    if agent_id is not None and not await Agent.exists(id=agent_id, store_id=store_id, active=True):
        raise ApiError(422, "unknown_agent", f"no active agent {agent_id} in this store")
    await _take(conv, agent_id, only_unassigned=False)
    return await announce(conv.id)  # the row as read after the update, as announced


async def claim_if_unassigned(conv: Conversation, agent_id: int) -> bool:
    """An agent who answers an unassigned thread takes it; the row count says who got there first."""
    return await _take(conv, agent_id, only_unassigned=True)


async def _take(conv: Conversation, agent_id: int | None, *, only_unassigned: bool) -> bool:
    """Assign (None: unassign) and announce `conversation.assigned` in the same transaction;
    `only_unassigned`: the row count says who got there first."""
    event_id = None
    async with in_transaction() as conn:
        query = Conversation.filter(id=conv.id, store_id=conv.store_id)
        if only_unassigned:
            query = query.filter(assignee_id=None)
        won = await query.using_db(conn).update(
            assignee_id=agent_id, assigned_at=utcnow() if agent_id else None
        )
        if won:
            event_id = await events.record(
                events.CONVERSATION_ASSIGNED,
                conv.store_id,
                conv.id,
                {
                    "agent_id": agent_id,
                    "contact_id": conv.contact_id,
                    "checkout_id": conv.checkout_id,
                },
                using=conn,
                qualifier=uuid.uuid4().hex,
            )
    if event_id is not None:
        await dispatch_soon(event_id)
    return bool(won)


async def auto_assign(redis: Redis, store_id: int, presence_seconds: int) -> list[tuple[int, int]]:
    """Hand the unassigned queue, oldest first, to online agents in turn while they are under cap.

    A short Redis lock keeps two app instances from both filling the same agent past their cap;
    the conditional update still decides each conversation, so a lost lock cannot double-assign.
    """
    done: list[tuple[int, int]] = []
    if not await Conversation.exists(
        store_id=store_id, status=ConversationStatus.OPEN, assignee_id=None
    ):
        return done  # the common case under load: nothing waits, so no lock is taken
    try:
        lock = redis.lock(
            f"inbox:assign-lock:{store_id}", timeout=10, sleep=0.01, blocking_timeout=5
        )
        async with lock:
            done = await _assign_queue(redis, store_id, presence_seconds)
    except Exception as exc:  # lock timeout or Redis down: the next event retries
        log.warning("auto-assign skipped", extra=ctx(store=store_id, error=repr(exc)))
    for conv_id, _agent_id in done:
        await announce(conv_id)
    return done


async def _assign_queue(
    redis: Redis, store_id: int, presence_seconds: int
) -> list[tuple[int, int]]:
    online = await presence.online(redis, store_id, presence_seconds)
    if not online:
        return []
    agents = await Agent.filter(store_id=store_id, id__in=list(online), active=True)
    counts = await _open_counts(store_id)
    last = await presence.last_assigned(redis, store_id)
    done: list[tuple[int, int]] = []
    queue = await Conversation.filter(
        store_id=store_id, status=ConversationStatus.OPEN, assignee_id=None
    ).order_by("waiting_since", "id")
    for conv in queue:
        candidates = [
            Candidate(a.id, counts.get(a.id, 0), a.max_open_conversations, last.get(a.id, 0.0))
            for a in agents
        ]
        chosen = pick_assignee(candidates)
        if chosen is None:
            break
        if await _take(conv, chosen, only_unassigned=True):
            counts[chosen] = counts.get(chosen, 0) + 1
            last[chosen] = time.time()
            await presence.mark_assigned(redis, store_id, chosen, last[chosen])
            done.append((conv.id, chosen))
    return done


async def _open_counts(store_id: int) -> dict[int, int]:
    rows = (
        await Conversation.filter(store_id=store_id, status=ConversationStatus.OPEN)
        .exclude(assignee_id=None)
        .annotate(n=Count("id"))
        .group_by("assignee_id")
        .values("assignee_id", "n")
    )
    return {int(r["assignee_id"]): int(r["n"]) for r in rows}


async def set_status(
    store_id: int, conv_id: int, status: ConversationStatus, until: datetime | None = None
) -> Conversation:
    conv = await scoped(store_id, conv_id)
    now = utcnow()
    changes: dict[str, Any] = {"status": status, "snoozed_until": None}
    if status == ConversationStatus.SNOOZED:
        if until is None or not snooze_valid(now, until):
            raise ApiError(422, "bad_snooze", "snooze until a time in the next 90 days")
        changes["snoozed_until"] = until
    if status == ConversationStatus.CLOSED:
        changes["closed_at"] = now
    if status == ConversationStatus.OPEN and conv.status == ConversationStatus.CLOSED:
        changes |= {"closed_at": None, "opened_at": now, "waiting_since": now, **_CLOCK_RESET}
    await Conversation.filter(id=conv.id, store_id=store_id).update(**changes)
    return await announce(conv.id)  # the row as read after the update, as announced


async def wake_snoozed(now: datetime) -> int:
    """Snoozes end on time even when nobody is looking; a new message ends them sooner."""
    due = await Conversation.filter(
        status=ConversationStatus.SNOOZED, snoozed_until__lte=now
    ).values_list("id")
    woken = 0
    for (conv_id,) in due:
        if await Conversation.filter(id=conv_id, status=ConversationStatus.SNOOZED).update(
            status=ConversationStatus.OPEN, snoozed_until=None
        ):
            woken += 1
            await announce(int(conv_id))
    return woken


async def mark_read(store_id: int, conv_id: int, agent_id: int) -> int:
    conv = await scoped(store_id, conv_id)
    marker, _ = await ReadMarker.get_or_create(conversation_id=conv.id, agent_id=agent_id)
    if marker.seen_inbound != conv.inbound_count:
        await ReadMarker.filter(id=marker.id).update(seen_inbound=conv.inbound_count)
    return conv.inbound_count


async def add_note(store_id: int, conv_id: int, agent: Agent, body: str, client_id: str) -> Message:
    """Internal notes sit in the thread for colleagues and never leave FollowUp."""
    conv = await scoped(store_id, conv_id)
    text = body.strip()
    if not 1 <= len(text) <= 4000:
        raise ApiError(422, "bad_note", "a note needs 1 to 4000 characters")
    key = f"inbox-note:{store_id}:{client_id}"
    existing = await Message.get_or_none(idempotency_key=key, store_id=store_id)
    if existing:
        return existing
    msg = await Message.create(
        store_id=store_id,
        contact_id=conv.contact_id,
        checkout_id=conv.checkout_id,
        conversation_id=conv.id,
        channel=Channel.SMS,
        direction=Direction.OUTBOUND,
        author=Author.NOTE,
        agent_id=agent.id,
        to_address="note",
        body=text,
        status="delivered",
        idempotency_key=key,
    )
    await announce_message(msg)
    return msg


async def remove_canned(store_id: int, canned_id: int) -> None:
    """Delete one of the store's canned replies; another store's (or a gone) id is not found."""
    if not await CannedReply.filter(id=canned_id, store_id=store_id).delete():
        raise ApiError(404, "not_found", f"no canned reply {canned_id} in this store")


async def review_opt_out(
    current: CurrentAgent, conv_id: int, confirm: bool
) -> tuple[Conversation, list[int]]:
    """An agent confirms or dismisses a possible opt-out; every agent sees the thread change."""
    conv = await scoped(current.store_id, conv_id)
    contact = await Contact.get(id=conv.contact_id, store_id=current.store_id)
    outbox_ids = await consent.review(contact, confirm, f"agent:{current.agent.id}", utcnow())
    log.info(
        "possible opt-out reviewed",
        extra=ctx(store=current.store_id, contact=contact.id, confirmed=confirm),
    )
    return await announce(conv.id), outbox_ids

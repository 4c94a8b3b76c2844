"""SMS consent by keyword and by an agent's review of a possible opt-out, each kept as a ConsentEvent."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from app.checkouts.models import ConsentEvent, Contact
from app.core import events
from app.core.errors import ApiError
from app.core.spreadsheet import safe_cell
from inbox.rules import Keyword

SOURCE = "sms_keyword"
REVIEW = "agent_review"
"""Source of the consent events an agent's decision on a possible opt-out records."""


async def apply_keyword(
    contact: Contact, keyword: Keyword, body: str, now: datetime, conn: Any
) -> list[int]:
    """Change the contact's SMS consent inside the caller's transaction; returns outbox event ids.

    The conditional update decides whether this message changed anything, so a STOP delivered
    twice (or racing another) announces contact.opted_out once, while both words stay on record.
    """
    if keyword == Keyword.HELP:
        await _log(contact, "help", body, now, conn)
        return []
    if keyword == Keyword.OPT_OUT:
        return await opt_out(contact, body, now, conn)
    await (
        Contact.filter(id=contact.id)
        .using_db(conn)
        .update(
            sms_opted_out_at=None,
            sms_held_at=None,
            sms_consent=True,
            sms_consent_source=f"{SOURCE}:{body.strip().upper()[:16]}",
            sms_consent_at=now,
        )
    )
    event = await _log(contact, "opt_in", body, now, conn)
    return [
        await events.record(
            events.CONTACT_OPTED_IN,
            contact.store_id,
            contact.id,
            {"channel": "sms", "source": SOURCE},
            using=conn,
            qualifier=str(event.id),
        )
    ]


async def opt_out(
    contact: Contact,
    body: str,
    now: datetime,
    conn: Any,
    source: str = SOURCE,
    actor: str | None = None,
) -> list[int]:
    """Opt the contact out of texts (clearing any hold); announced once, recorded every time."""
    won = (
        await Contact.filter(id=contact.id, sms_opted_out_at=None)
        .using_db(conn)
        .update(sms_opted_out_at=now, sms_consent=False, sms_held_at=None)
    )
    event = await _log(contact, "opt_out", body, now, conn, source, actor)
    if not won:
        return []
    outbox_id = await events.record(
        events.CONTACT_OPTED_OUT,
        contact.store_id,
        contact.id,
        {"channel": "sms", "source": source, "consent_event_id": event.id},
        using=conn,
        qualifier=str(event.id),
    )
    return [outbox_id]


async def hold(contact: Contact, body: str, now: datetime, conn: Any) -> bool:
    """Hold automated texts to a contact whose reply may be an opt-out, until an agent decides.

    Kept on record even when already held; a contact already opted out has nothing to hold.
    """
    held = (
        await Contact.filter(id=contact.id, sms_opted_out_at=None, sms_held_at=None)
        .using_db(conn)
        .update(sms_held_at=now)
    )
    if held or contact.sms_opted_out_at is None:
        await _log(contact, "possible_opt_out", body, now, conn)
    if held:
        contact.sms_held_at = now
    return bool(held)


async def review(contact: Contact, confirm: bool, actor: str, now: datetime) -> list[int]:
    """An agent's answer to a possible opt-out: a full opt-out, or back to texting as before.

    Only a held contact can be decided on (409 otherwise), and only once: the row lock and the
    conditional update make a second click, or two agents at once, a clear refusal.
    """
    async with in_transaction() as conn:
        locked = await Contact.select_for_update().using_db(conn).get(id=contact.id)
        if locked.sms_held_at is None:
            raise ApiError(
                409, "no_possible_opt_out", "this shopper's texts are not waiting on a decision"
            )
        words = await _held_words(locked, conn)
        if confirm:
            return await opt_out(locked, words, now, conn, REVIEW, actor)
        await Contact.filter(id=locked.id).using_db(conn).update(sms_held_at=None)
        await _log(locked, "not_opt_out", words, now, conn, REVIEW, actor)
    return []


async def _held_words(contact: Contact, conn: Any) -> str:
    """The shopper's words that put the hold on, for the decision's own record."""
    latest = (
        await ConsentEvent.filter(contact_id=contact.id, action="possible_opt_out")
        .using_db(conn)
        .order_by("-id")
        .first()
    )
    return latest.message or "" if latest else ""


async def _log(
    contact: Contact,
    action: str,
    body: str,
    now: datetime,
    conn: Any,
    source: str = SOURCE,
    actor: str | None = None,
) -> ConsentEvent:
    return await ConsentEvent.create(
        store_id=contact.store_id,
        contact_id=contact.id,
        channel="sms",
        action=action,
        source=source,
        actor=actor or f"shopper:{contact.phone}",
        message=body[:1600],
        occurred_at=now,
        using_db=conn,
    )


CSV_COLUMNS = (
    "occurred_at",
    "contact_id",
    "phone",
    "email",
    "channel",
    "action",
    "source",
    "actor",
    "message",
)


async def consent_csv(store_id: int, batch: int = 500) -> AsyncIterator[str]:
    """Every consent change of one store, oldest first, streamed in batches so exports stay flat in memory."""
    yield _row(CSV_COLUMNS)
    last_id = 0
    while True:
        rows = (
            await ConsentEvent.filter(store_id=store_id, id__gt=last_id)
            .order_by("id")
            .limit(batch)
            .prefetch_related("contact")
        )
        if not rows:
            return
        for event in rows:
            yield _row(
                (
                    event.occurred_at.isoformat(),
                    event.contact_id,
                    event.contact.phone or "",
                    event.contact.email or "",
                    event.channel,
                    event.action,
                    event.source,
                    event.actor or "",
                    safe_cell(event.message),
                )
            )
        last_id = rows[-1].id


def _row(values: tuple[Any, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer).writerow(values)
    return buffer.getvalue()

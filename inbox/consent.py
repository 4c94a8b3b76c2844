"""SMS consent by keyword: opt-out and opt-in applied at once, each kept as an auditable ConsentEvent."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Any

from app.checkouts.models import ConsentEvent, Contact
from app.core import events
from app.core.spreadsheet import safe_cell
from inbox.rules import Keyword

SOURCE = "sms_keyword"


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
        won = (
            await Contact.filter(id=contact.id, sms_opted_out_at=None)
            .using_db(conn)
            .update(sms_opted_out_at=now, sms_consent=False)
        )
        event = await _log(contact, "opt_out", body, now, conn)
        if not won:
            return []
        outbox_id = await events.record(
            events.CONTACT_OPTED_OUT,
            contact.store_id,  # type: ignore[attr-defined]
            contact.id,
            {"channel": "sms", "source": SOURCE, "consent_event_id": event.id},
            using=conn,
            qualifier=str(event.id),
        )
        return [outbox_id]
    await (
        Contact.filter(id=contact.id)
        .using_db(conn)
        .update(
            sms_opted_out_at=None,
            sms_consent=True,
            sms_consent_source=f"{SOURCE}:{body.strip().upper()[:16]}",
            sms_consent_at=now,
        )
    )
    await _log(contact, "opt_in", body, now, conn)
    return []


async def _log(contact: Contact, action: str, body: str, now: datetime, conn: Any) -> ConsentEvent:
    return await ConsentEvent.create(
        store_id=contact.store_id,  # type: ignore[attr-defined]
        contact_id=contact.id,
        channel="sms",
        action=action,
        source=SOURCE,
        actor=f"shopper:{contact.phone}",
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
                    event.contact_id,  # type: ignore[attr-defined]
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

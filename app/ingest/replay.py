"""`followup reprocess`: run stored deliveries through processing again, with a progress bar."""

from __future__ import annotations

from typing import Any

from rich.progress import Progress

from app.core.redis import connect_queue
from app.core.timeutil import parse_datetime
from app.ingest.jobs import process_raw_event
from app.ingest.models import RawEvent, RawStatus


async def replay(
    store_id: int | None, status: str, topic: str | None, since: str | None
) -> dict[str, int]:
    query = RawEvent.all()
    if store_id is not None:
        query = query.filter(store_id=store_id)
    if status != "all":
        query = query.filter(status=RawStatus(status))
    if topic:
        query = query.filter(topic=topic)
    if since:
        moment = parse_datetime(since)
        if moment is None:
            raise ValueError(f"--since {since!r} is not an ISO time")
        query = query.filter(received_at__gte=moment)
    ids = [raw_id for (raw_id,) in await query.order_by("id").values_list("id")]
    queue = await connect_queue()
    counts: dict[str, int] = {}
    ctx: dict[str, Any] = {"redis": queue}
    try:
        with Progress() as progress:
            task = progress.add_task("reprocessing", total=len(ids))
            for raw_id in ids:
                await RawEvent.filter(id=raw_id).update(status=RawStatus.PENDING, error=None)
                result = await process_raw_event(ctx, raw_id)
                counts[result] = counts.get(result, 0) + 1
                progress.advance(task)
    finally:
        await queue.aclose()
    return counts

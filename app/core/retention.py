"""Deleting rows past their retention: oldest first, in short statements, a bounded amount a run.

The sweeps call this every minute on every worker; a first run over years of rows must neither
hold long locks nor keep the rest of its sweep waiting, so each call deletes at most `most` rows,
`chunk` at a time, and the next sweep goes on where it stopped. The filter is applied again in each
DELETE, so a row that stopped matching between the read and the delete (put back to pending,
say) is kept.
"""

from __future__ import annotations

from tortoise.expressions import Q
from tortoise.models import Model

CHUNK = 2_000
"""Rows deleted per statement: short statements, short row locks."""
MOST = 20_000
"""Rows deleted per call at most."""


async def delete_oldest(
    model: type[Model], doomed: Q, age: str, chunk: int = CHUNK, most: int = MOST
) -> int:
    """Delete up to `most` rows matching `doomed`, oldest by the indexed time column `age` first
    (the index then both finds and orders them, so a sweep with nothing to delete reads no more
    than the index's first entries); how many were deleted."""
    deleted = 0
    while deleted < most:
        take = min(chunk, most - deleted)
        oldest = model.filter(doomed).order_by(age, "id").limit(take)
        ids = await oldest.values_list("id", flat=True)
        if not ids:
            break
        await model.filter(doomed, id__in=ids).delete()
        # Counted by what is gone: SQLite's count of changed rows includes the rows a foreign
        # key cascade deleted with them.
        deleted += len(ids) - await model.filter(id__in=ids).count()
        if len(ids) < take:
            break
    return deleted

"""The `followup contacts rebuild` command's work: every contact's history again, with a progress bar."""

from __future__ import annotations

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.checkouts import history
from app.stores.models import Store


async def run_rebuild(store_id: int | None) -> dict[str, int]:
    if store_id is not None and not await Store.exists(id=store_id):
        raise click.ClickException(f"no store with id {store_id}")
    columns = (TextColumn("contacts"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns) as bar:
        task = bar.add_task("rebuild", total=None)
        done = await history.rebuild(
            store_id, progress=lambda n, total: bar.update(task, completed=n, total=total)
        )
    return {"contacts": done}

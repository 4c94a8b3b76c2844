"""The `followup shopify import` command's work: find the store, show progress, run the import."""

from __future__ import annotations

import click
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from app.core.redis import connect_queue
from app.core.timeutil import utcnow
from app.integrations.shopify.backfill import import_abandoned, parse_since
from app.integrations.shopify.tokens import NotInstalled
from app.stores.models import Platform, Store


async def run_import(store_id: int, since: str) -> dict[str, int]:
    store = await Store.get_or_none(id=store_id, platform=Platform.SHOPIFY)
    if store is None:
        raise click.ClickException(f"no Shopify store with id {store_id}")
    try:
        moment = parse_since(since, utcnow())
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    queue = await connect_queue()
    columns = (TextColumn("importing"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns) as bar:
            task = bar.add_task("import", total=None)
            result = await import_abandoned(
                store,
                moment,
                queue=queue,
                progress=lambda done, total: bar.update(task, completed=done, total=total),
            )
    except NotInstalled as exc:
        raise click.ClickException(f"{exc}: install the app on the shop first") from None
    finally:
        await queue.aclose()
    return result.as_dict()

"""Stats over HTTP: the bearer-token API, the session twin for our pages, CSV exports, the dashboard."""

from __future__ import annotations

import csv
import io
from typing import Annotated, Any

import msgspec
from litestar import Controller, Response, get
from litestar.di import Provide
from litestar.params import QueryParameter
from litestar.response import Template

from app.analytics import charts, services, stats
from app.analytics.schemas import StatsOut
from app.config import get_settings
from app.core.errors import ApiError
from app.core.money import format_money
from app.core.spreadsheet import safe_cell
from app.core.timeutil import utcnow
from app.recovery import pool
from app.stores.auth import api_store
from app.stores.models import Store
from app.web.access import Access, frame_headers, manager_access, manager_api

FromParam = Annotated[str | None, QueryParameter(name="from", description="first day, YYYY-MM-DD")]
ToParam = Annotated[str | None, QueryParameter(name="to", description="last day, inclusive")]
ChannelParam = Annotated[str | None, QueryParameter(name="channel", description="sms or email")]
TABLES = (
    "funnel",
    "attribution",
    "channels",
    "steps",
    "variants",
    "holdout",
    "daily",
    "weekly",
    "top_products",
    "time_to_recovery",
    "conversations",
)


async def stats_for(
    store: Store, start: str | None, end: str | None, channel: str | None
) -> StatsOut:
    rng = services.parse_range(store, utcnow(), start, end, channel)
    return await stats.compute(store, rng, utcnow())


class StatsApi(Controller):
    path = "/api/v1/stats"
    tags = ["analytics"]

    @get(
        "/",
        dependencies={"store": Provide(api_store)},
        summary="Every dashboard figure for a date range (store time zone), optionally one channel",
    )
    async def api_stats(
        self,
        store: Store,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
    ) -> StatsOut:
        return await stats_for(store, start, end, channel)


def _rows(table: str, data: StatsOut) -> list[dict[str, Any]]:
    value = msgspec.to_builtins(getattr(data, table))
    if table == "attribution":
        return [
            {"model": name, **value[name], "currency": value["currency"]}
            for name in ("recovered", "click", "message", "discount", "total")
        ]
    return value if isinstance(value, list) else [value]


def to_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if not rows:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), extrasaction="ignore")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return out.getvalue()


class DashboardPages(Controller):
    include_in_schema = False
    dependencies = {"access": Provide(manager_access)}

    @get("/dashboard")
    async def dashboard(
        self,
        access: Access,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
    ) -> Template:
        data = await stats_for(access.store, start, end, channel)
        warning = (await pool.status(access.store)).warning
        return Template(
            "analytics/dashboard.html",
            context=access.context("dashboard", pool_warning=warning, **view(access.store, data)),
            headers=frame_headers(access.store),
        )

    @get("/dashboard/export/{table:str}")
    async def export(
        self,
        access: Access,
        table: str,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
    ) -> Response[str]:
        name = table.removesuffix(".csv")
        if name not in TABLES or not table.endswith(".csv"):
            raise ApiError(404, "not_found", f"tables: {', '.join(t + '.csv' for t in TABLES)}")
        data = await stats_for(access.store, start, end, channel)
        filename = f"followup-{name}-{data.period.start}-{data.period.end}.csv"
        return Response(
            to_csv(_rows(name, data)),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{filename}"'},
        )


class DashboardData(Controller):
    """The same stats for our own pages, with the session instead of the API token."""

    include_in_schema = False
    dependencies = {"access": Provide(manager_api)}

    @get("/dashboard/stats.json")
    async def session_stats(
        self,
        access: Access,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
    ) -> StatsOut:
        return await stats_for(access.store, start, end, channel)


def view(store: Store, data: StatsOut) -> dict[str, Any]:
    """Formatting helpers and derived values for the template; numbers stay those of `data`."""
    locale = store.locale or "en_US"  # format_money reads "en-US" and "en_US" alike

    def money(amount: Any) -> str:
        return "—" if amount is None else format_money(amount, store.currency, locale)

    def pct(value: float | None, digits: int = 1) -> str:
        return "—" if value is None else f"{value * 100:.{digits}f}%"

    return {
        "s": data,
        "money": money,
        "pct": pct,
        "chart": charts.trend_svg(data.daily, store.currency),
        "bar": charts.bar_width,
        "tables": TABLES,
        "public_url": get_settings().server.public_url,
        "query": {
            "from": str(data.period.start),
            "to": str(data.period.end),
            "channel": data.period.channel or "",
        },
    }

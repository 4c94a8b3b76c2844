"""The dashboard page and its CSV downloads: the figures of `analytics.figures`, as the API gives them."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.analytics import charts, exports, figures, response_times
from app.analytics.controllers import ChannelParam, FromParam, ToParam
from app.analytics.period import Range
from app.analytics.schemas import StatsOut
from app.config import get_settings
from app.core.errors import ApiError
from app.core.money import format_money
from app.core.timeutil import utcnow
from app.messaging.response_time import duration_text
from app.recovery import pool
from app.recovery.failures import recent_failures
from app.stores.models import Store
from app.web.access import Access, frame_headers, manager_access


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
        data = await figures.for_period(access.store, start, end, channel)
        warning = (await pool.status(access.store)).warning
        failures = await recent_failures(access.store.id, utcnow())
        first_response = await response_times.for_period(
            access.store.id, access.store.settings, _range(data), utcnow()
        )
        return Template(
            "pages/dashboard.html",
            context=access.context(
                "dashboard",
                pool_warning=warning,
                failures=failures,
                first_response=first_response,
                duration=duration_text,
                **view(access.store, data),
            ),
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
        if name not in exports.TABLES or not table.endswith(".csv"):
            known = ", ".join(t + ".csv" for t in exports.TABLES)
            raise ApiError(404, "not_found", f"tables: {known}")
        data = await figures.for_period(access.store, start, end, channel)
        return Response(
            exports.to_csv(exports.rows(name, data)),
            media_type="text/csv; charset=utf-8",
            headers={
                "Content-Disposition": f'attachment; filename="{exports.filename(name, data)}"'
            },
        )

    @get("/dashboard/stats.json")
    async def stats_json(self, request: Request[Any, Any, State], access: Access) -> Redirect:
        """The old address of the page's JSON: the stats API answers the session itself."""
        query = f"?{request.url.query}" if request.url.query else ""
        return Redirect(f"/api/v1/stats{query}", status_code=307)


def _range(data: StatsOut) -> Range:
    p = data.period
    return Range(p.start, p.end, p.timezone, p.channel)


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
        "tables": exports.TABLES,
        "public_url": get_settings().server.public_url,
        "query": {
            "from": str(data.period.start),
            "to": str(data.period.end),
            "channel": data.period.channel or "",
        },
    }

"""The dashboard page and its CSV downloads: the figures of `analytics.figures`, as the API gives them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from babel.numbers import get_currency_precision
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.di import Provide
from litestar.response import Redirect, Template

from app.analytics import (
    charts,
    exports,
    figures,
    promotion,
    recipients,
    response_times,
    site_saves,
)
from app.analytics.controllers import (
    ChannelParam,
    CursorParam,
    FlowParam,
    FromParam,
    ToParam,
    recipients_query,
)
from app.analytics.period import Range
from app.analytics.schemas import RecipientRow, StatsOut
from app.config import get_settings
from app.core.errors import ApiError
from app.core.money import format_money
from app.core.timeutil import utcnow
from app.messaging.response_time import duration_text
from app.recovery import pool, triggers
from app.recovery.failures import recent_failures
from app.recovery.models import Flow
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
        flow: FlowParam = None,
        cursor: CursorParam = None,
    ) -> Template:
        return await _page(access, start, end, channel, flow, cursor)

    @post("/dashboard/promote")
    async def promote(self, request: Request[Any, Any, State], access: Access) -> Any:
        """The A/B table's one click: keep the winner, retire the rest (the flow page logs it)."""
        form = await request.form()
        start, end, channel = (str(form.get(k) or "") or None for k in ("from", "to", "channel"))
        try:
            flow_id, step = int(str(form.get("flow"))), int(str(form.get("step")))
        except ValueError:
            return await _page(access, start, end, channel, None, None, 422, "Pick a step.")
        variant = str(form.get("variant") or "")
        try:
            await promotion.promote(
                access.store, flow_id, step, variant, access.current.agent.email
            )
        except ApiError as exc:
            shown = None if exc.status_code == 404 else flow_id
            return await _page(
                access, start, end, channel, shown, None, exc.status_code, exc.detail
            )
        given = {"from": start, "to": end, "channel": channel}
        back = urlencode(
            {"flow": flow_id, "promoted": step, **{k: v for k, v in given.items() if v}}
        )
        return Redirect(f"/dashboard?{back}#results", status_code=303)

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

    @get("/dashboard/live")
    async def live(
        self,
        access: Access,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
        flow: FlowParam = None,
        cursor: CursorParam = None,
    ) -> Template:
        """Every figure of the page (not its filters, alerts or script), re-read by the open page
        when a "stats" frame arrives; the same context as the page, so both always agree."""
        return Template(
            "pages/dashboard/_live.html",
            context=await _context(access, start, end, channel, flow, cursor),
            headers={"Cache-Control": "no-store", **frame_headers(access.store)},
        )

    @get("/dashboard/stats.json")
    async def stats_json(self, request: Request[Any, Any, State], access: Access) -> Redirect:
        """The old address of the page's JSON: the stats API answers the session itself."""
        query = f"?{request.url.query}" if request.url.query else ""
        return Redirect(f"/api/v1/stats{query}", status_code=307)


def _range(data: StatsOut) -> Range:
    p = data.period
    return Range(p.start, p.end, p.timezone, p.channel)


async def _page(
    access: Access,
    start: str | None,
    end: str | None,
    channel: str | None,
    flow: int | None,
    cursor: str | None,
    status_code: int = 200,
    promote_error: str | None = None,
) -> Template:
    context = await _context(access, start, end, channel, flow, cursor, promote_error)
    context["pool_warning"] = (await pool.status(access.store)).warning
    context["failures"] = await recent_failures(access.store.id, utcnow())
    return Template(
        "pages/dashboard.html",
        context=context,
        status_code=status_code,
        headers=frame_headers(access.store),
    )


async def _context(
    access: Access,
    start: str | None,
    end: str | None,
    channel: str | None,
    flow: int | None,
    cursor: str | None,
    promote_error: str | None = None,
) -> dict[str, Any]:
    """What the figures need, for the page and for its live re-reads alike."""
    data = await figures.for_period(access.store, start, end, channel, flow)
    results = await _results(access.store, data, flow, cursor)
    first_response = await response_times.for_period(
        access.store.id, access.store.settings, _range(data), utcnow()
    )
    saves = await site_saves.between(access.store.id, access.store.currency, *_range(data).utc)
    context = access.context(
        "dashboard",
        first_response=first_response,
        site_saves=saves,
        duration=duration_text,
        promote_error=promote_error,
        **results,
        **view(access.store, data),
    )
    if cursor:  # a live re-read keeps the page of recipients the merchant is on
        context["live_query"] += ("&" if context["live_query"] else "") + urlencode(
            {"cursor": cursor}
        )
    return context


RECIPIENTS_ON_PAGE = 25


async def _results(
    store: Store, data: StatsOut, flow: int | None, cursor: str | None
) -> dict[str, Any]:
    """The flow picker's choices, and for one picked flow its recipients and promoted steps."""
    choices = await Flow.filter(store_id=store.id).order_by("id").values_list("id", "name")
    found: dict[str, Any] = {"flow_choices": choices, "picked": None, "recipients": []}
    found["trigger_labels"] = {name: t.label for name, t in triggers.CATALOGUE.items()}
    found["flow_names"] = dict(choices)
    if flow is None or not data.flows:
        return found
    rows: list[RecipientRow] = []
    q = recipients_query(
        store,
        await Flow.get(id=flow),
        str(data.period.start),
        str(data.period.end),
        data.period.channel,
        None,
        cursor,
        RECIPIENTS_ON_PAGE,
    )
    rows, following = await recipients.page(store, q)
    promoted = await promotion.promoted_steps(flow)
    return {
        **found,
        "picked": data.flows[0],
        "recipients": rows,
        "next_cursor": following,
        "promoted": promoted,
    }


def view(store: Store, data: StatsOut) -> dict[str, Any]:
    """Formatting helpers and derived values for the template; numbers stay those of `data`."""
    locale = store.locale or "en_US"  # format_money reads "en-US" and "en_US" alike

    def money(amount: Any) -> str:
        return "—" if amount is None else format_money(amount, store.currency, locale)

    def pct(value: float | None, digits: int = 1) -> str:
        return "—" if value is None else f"{value * 100:.{digits}f}%"

    def cost(amount: Decimal) -> str:
        """A spend that rounds to nothing is still a spend: 'under $0.01', not '$0.00'."""
        cent = Decimal(1).scaleb(-get_currency_precision(store.currency.upper()))
        if 0 < amount < cent:
            return f"under {money(cent)}"
        return money(amount)

    def times(ratio: Decimal | None) -> str:
        """Two decimals (12.50), or a whole number with its thousands marked (1,250) from 100."""
        if ratio is None:
            return "—"
        return f"{ratio:,.0f}×" if ratio >= 100 else f"{ratio:,.2f}×"

    query = {
        "from": str(data.period.start),
        "to": str(data.period.end),
        "channel": data.period.channel or "",
        "flow": str(data.flows[0].flow_id) if len(data.flows) == 1 else "",
    }
    return {
        "s": data,
        "money": money,
        "cost": cost,
        "times": times,
        "pct": pct,
        "chart": charts.trend_svg(data.daily, store.currency),
        "bar": charts.bar_width,
        "tables": exports.TABLES,
        "public_url": get_settings().server.public_url,
        "query": query,
        "live_query": urlencode({k: v for k, v in query.items() if v}),
    }

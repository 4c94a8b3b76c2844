"""The stats JSON API: every dashboard figure for a period, for scripts (bearer token) and our pages;
per flow, its results and its recipients (JSON pages, or all of them as a streamed CSV); and the
promotion of A/B winners."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated, Any

from litestar import Controller, Request, get, post, put
from litestar.di import Provide
from litestar.params import QueryParameter
from litestar.response import Stream

from app.accounts.guards import optional_agent, store_api
from app.analytics import exports, figures, promotion, recipients
from app.analytics.period import parse_range
from app.analytics.schemas import FlowResult, Period, RecipientsPage, StatsOut
from app.core.errors import ApiError
from app.core.timeutil import utcnow
from app.recovery.models import Flow, Promotion
from app.recovery.schemas import AutoPromoteIn, AutoPromoteOut, PromoteIn, PromotionOut
from app.stores.models import Store

FromParam = Annotated[str | None, QueryParameter(name="from", description="first day, YYYY-MM-DD")]
ToParam = Annotated[str | None, QueryParameter(name="to", description="last day, inclusive")]
ChannelParam = Annotated[str | None, QueryParameter(name="channel", description="sms or email")]
FlowParam = Annotated[
    int | None, QueryParameter(name="flow", description="one flow's id: `flows` holds only it")
]
StepParam = Annotated[int | None, QueryParameter(name="step", description="step number, from 1")]
CursorParam = Annotated[str | None, QueryParameter(name="cursor", description="next_cursor")]
LimitParam = Annotated[int, QueryParameter(name="limit", description="rows per page, 1 to 500")]


class StatsApi(Controller):
    path = "/api/v1/stats"
    tags = ["analytics"]

    @get(
        "/",
        dependencies={"store": Provide(store_api)},
        summary="Every dashboard figure for a date range (store time zone), optionally one channel",
    )
    async def api_stats(
        self,
        store: Store,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
        flow: FlowParam = None,
    ) -> StatsOut:
        return await figures.for_period(store, start, end, channel, flow)


async def flow_of(store: Store, flow_id: int) -> Flow:
    flow = await Flow.get_or_none(id=flow_id, store_id=store.id)
    if flow is None:
        raise ApiError(404, "not_found", f"no flow {flow_id} in this store")
    return flow


def recipients_query(
    store: Store,
    flow: Flow,
    start: str | None,
    end: str | None,
    channel: str | None,
    step: int | None,
    cursor: str | None,
    limit: int,
) -> recipients.Query:
    """The request's page, every part checked: 400 names the parameter at fault."""
    rng = parse_range(store, utcnow(), start, end, channel)
    if step is not None and not 1 <= step <= 1000:
        raise ApiError(400, "invalid_step", "step: a step number from 1")
    if not 1 <= limit <= recipients.MAX_PAGE:
        raise ApiError(400, "invalid_limit", f"limit: 1 to {recipients.MAX_PAGE}")
    before = recipients.decode_cursor(cursor)
    return recipients.Query(flow.id, rng, None if step is None else step - 1, before, limit)


class FlowResultsApi(Controller):
    """Per flow: its figures and who received its messages (bearer token or the page session)."""

    path = "/api/v1/flows/{flow_id:int}"
    tags = ["analytics"]
    dependencies = {"store": Provide(store_api)}

    @get("/results", summary="One flow's results per step, with attribution and holdout lift")
    async def results(
        self,
        store: Store,
        flow_id: int,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
    ) -> FlowResult:
        await flow_of(store, flow_id)
        return (await figures.for_period(store, start, end, channel, flow_id)).flows[0]

    @get("/recipients", summary="Who received the flow's messages, if they bought and how much")
    async def recipients_page(
        self,
        store: Store,
        flow_id: int,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
        step: StepParam = None,
        cursor: CursorParam = None,
        limit: LimitParam = 50,
    ) -> RecipientsPage:
        flow = await flow_of(store, flow_id)
        q = recipients_query(store, flow, start, end, channel, step, cursor, limit)
        rows, following = await recipients.page(store, q)
        return RecipientsPage(
            flow_id=flow.id,
            period=Period(q.rng.start, q.rng.end, q.rng.zone, q.rng.channel),
            step=step,
            recipients=rows,
            next_cursor=following,
        )

    @get(
        "/recipients.csv",
        summary="Every recipient of the flow in the period as CSV, streamed",
        media_type="text/csv; charset=utf-8",
    )
    async def recipients_csv(
        self,
        store: Store,
        flow_id: int,
        start: FromParam = None,
        end: ToParam = None,
        channel: ChannelParam = None,
        step: StepParam = None,
    ) -> Stream:
        flow = await flow_of(store, flow_id)
        q = recipients_query(store, flow, start, end, channel, step, None, recipients.CSV_PAGE)
        name = f"followup-flow-{flow.id}-recipients-{q.rng.start}-{q.rng.end}.csv"
        return Stream(
            csv_lines(store, q),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )


async def csv_lines(store: Store, q: recipients.Query) -> AsyncIterator[str]:
    yield exports.header(exports.RECIPIENT_COLUMNS)
    async for rows in recipients.every(store, q):
        yield exports.lines(exports.RECIPIENT_COLUMNS, [exports.builtins(r) for r in rows])


async def actor_of(request: Request[Any, Any, Any]) -> str:
    """Who acts, for the promotion log: the signed-in agent, or the store's API token."""
    if "authorization" in request.headers:
        return "API token"
    current = await optional_agent(request)
    return current.agent.email if current is not None else "API token"


def promotion_out(p: Promotion) -> PromotionOut:
    return PromotionOut(
        id=p.id,
        flow_id=p.flow_id,
        step=p.step_position + 1,
        channel=p.channel,
        winner=p.winner,
        retired=list(p.retired or []),
        automatic=p.automatic,
        actor=p.actor,
        rule=p.rule,
        figures=list(p.figures or []),
        created_at=p.created_at,
    )


class PromotionsApi(Controller):
    """A/B winners: promote one (409 with the reason while the test names no such winner), opt a
    flow in to automatic promotion, and read the log."""

    path = "/api/v1/flows/{flow_id:int}"
    tags = ["recovery"]
    dependencies = {"store": Provide(store_api)}

    @post(
        "/steps/{step:int}/promote",
        summary="Keep the winning variant of a step (numbered from 1) and retire the others",
        status_code=201,
    )
    async def promote(
        self,
        request: Request[Any, Any, Any],
        store: Store,
        flow_id: int,
        step: int,
        data: PromoteIn,
    ) -> PromotionOut:
        made = await promotion.promote(store, flow_id, step, data.variant, await actor_of(request))
        return promotion_out(made)

    @put("/auto-promote", summary="Let the worker promote winners of this flow (Klaviyo's rule)")
    async def auto_promote(self, store: Store, flow_id: int, data: AutoPromoteIn) -> AutoPromoteOut:
        flow = await promotion.set_auto(store, flow_id, data.enabled)
        return AutoPromoteOut(flow_id=flow.id, auto_promote=flow.auto_promote)

    @get("/promotions", summary="Every promotion of the flow, newest first")
    async def promotions(self, store: Store, flow_id: int) -> list[PromotionOut]:
        await flow_of(store, flow_id)
        return [promotion_out(p) for p in await promotion.history(store, flow_id)]

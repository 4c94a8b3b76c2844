"""The stats JSON API: every dashboard figure for a period, for scripts (bearer token) and our pages."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import Provide
from litestar.params import QueryParameter

from app.accounts.guards import store_api
from app.analytics import figures
from app.analytics.schemas import StatsOut
from app.stores.models import Store

FromParam = Annotated[str | None, QueryParameter(name="from", description="first day, YYYY-MM-DD")]
ToParam = Annotated[str | None, QueryParameter(name="to", description="last day, inclusive")]
ChannelParam = Annotated[str | None, QueryParameter(name="channel", description="sms or email")]


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
    ) -> StatsOut:
        return await figures.for_period(store, start, end, channel)

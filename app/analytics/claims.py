"""Read the per-order claims of rolled-up days, summed in SQL where the order is in the store currency.

Orders in another currency are read one by one and converted with today's platform rates, like
the raw computation; everything is read as of `now`, so a clock-skewed order waits there too.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from app.analytics import rules, services, sql
from app.analytics.services import Range
from app.stores.models import Store

if TYPE_CHECKING:
    from app.analytics.gather import Claims

FLAGS = (
    "counts, recovered, click_sms, click_email, click_other, message_sms, message_email, discount"
)
STEPS = "step_all, step_sms, step_email"
LOCAL = """CASE WHEN upper(currency) = $4 THEN total
  WHEN presentment_total IS NOT NULL AND COALESCE(presentment_currency, '') <> ''
    AND upper(presentment_currency) = $4 THEN presentment_total END"""
SCOPE = "store_id = $1 AND day = ANY($2::date[]) AND placed_at <= $3"


async def read(
    out: Claims,
    store: Store,
    days: list[date],
    rng: Range,
    now: datetime,
    rates: dict[str, Decimal],
) -> None:
    args = (store.id, days, now, store.currency.upper())
    groups = await sql.rows(
        f"""SELECT CASE WHEN recovered THEN day END AS day, {FLAGS}, {STEPS},
          count(*) AS n, sum({LOCAL}) AS revenue, 1 AS valued
        FROM analytics_order WHERE {SCOPE} AND ({LOCAL}) IS NOT NULL
        GROUP BY 1, {FLAGS}, {STEPS}""",
        *args,
    )
    foreign = await sql.rows(
        f"""SELECT day, {FLAGS}, {STEPS}, total, currency, presentment_total,
          presentment_currency
        FROM analytics_order WHERE {SCOPE} AND ({LOCAL}) IS NULL""",
        *args,
    )
    for row in foreign:
        value = services.order_worth(row, store, rates)
        row.update(n=1, revenue=value, valued=int(value is not None))
    for row in groups + foreign:
        _add(out, row, rng.channel)
    found = await sql.rows(
        f"""SELECT array_agg(EXTRACT(EPOCH FROM placed_at - abandoned_at)) AS seconds
        FROM analytics_order WHERE {SCOPE} AND counts AND recovered AND abandoned_at IS NOT NULL""",
        *args[:3],
    )
    out.hours += [float(s) / 3600 for s in found[0]["seconds"] or ()]


def _add(out: Claims, row: dict[str, Any], channel: str | None) -> None:
    """What `rules.attribute` does for one order, for a group of identical orders at once."""
    n, revenue = int(row["n"]), row["revenue"] or Decimal(0)
    result = out.result
    if not row["counts"]:
        result.excluded += n
        return
    tallies: list[rules.Tally] = [result.total]
    result.unconverted += 0 if row["valued"] else n
    if row["recovered"]:
        tallies.append(result.recovered)
        won = out.won[row["day"]]
        won[0] += n
        won[1] += revenue
        step = row["step_all"] if channel is None else row[f"step_{channel}"]
        if step is not None:
            out.credit[step][0] += n
            out.credit[step][1] += revenue
    clicks = (
        ("click_sms", "click_email", "click_other") if channel is None else (f"click_{channel}",)
    )
    if any(row[c] for c in clicks):
        tallies.append(result.click)
    messages = ("message_sms", "message_email") if channel is None else (f"message_{channel}",)
    if any(row[m] for m in messages):
        tallies.append(result.message)
    if row["discount"]:
        tallies.append(result.discount)
    for tally in tallies:
        tally.orders += n
        tally.revenue += revenue

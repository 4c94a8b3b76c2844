"""Raw queries over the source tables (checkout, message, order, ...): counts grouped in the database,
facts loaded for the rules.

The truth the rollups are built from and tested against. Every query is scoped to one store and one
half-open UTC interval [start, end). Rollup tables are read in `inputs` and `attribution`, not here.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.analytics import sql

AUTOMATION = "m.direction = 'outbound' AND m.author = 'automation'"
NOT_SENT = "('pending', 'cancelled')"


def _ordered_in_period(contact: str, checkout: str) -> str:
    """The shopper (by contact or checkout) placed an order in [$2, $3); $1 is the store."""
    orders = 'FROM "order" o WHERE o.store_id = $1 AND o.placed_at >= $2 AND o.placed_at < $3'
    return (
        f"({contact} IN (SELECT o.contact_id {orders})"
        f" OR {checkout} IN (SELECT o.checkout_id {orders}))"
    )


_EMAIL_REACH = "c.email IS NOT NULL AND ct.email_opted_out_at IS NULL"
_SMS_REACH = "c.phone IS NOT NULL AND ct.sms_consent AND ct.sms_opted_out_at IS NULL"
# Strict: email needs recorded consent (or no contact row to say otherwise); open: an address does.
_STRICT = f"({_EMAIL_REACH} AND (ct.email_consent OR ct.id IS NULL)) OR ({_SMS_REACH})"
_OPEN = f"({_EMAIL_REACH}) OR ({_SMS_REACH})"


async def funnel(store_id: int, start: datetime, end: datetime) -> dict[str, int]:
    """Both reachable counts in one pass: the rollup stores both, the stats pick one. A cart
    another device's newer cart replaced is not a second abandonment (`app/recovery/devices.py`)."""
    found = await sql.rows(
        f"""SELECT count(*) AS abandoned,
          COALESCE(sum(CASE WHEN {_STRICT} THEN 1 ELSE 0 END), 0) AS reachable_strict,
          COALESCE(sum(CASE WHEN {_OPEN} THEN 1 ELSE 0 END), 0) AS reachable_open,
          COALESCE(sum(CASE WHEN e.id IS NOT NULL AND e.status <> 'holdout' THEN 1 ELSE 0 END), 0)
            AS enrolled,
          COALESCE(sum(CASE WHEN e.status = 'holdout' THEN 1 ELSE 0 END), 0) AS holdout,
          COALESCE(sum(CASE WHEN c.recovery_contacted_at IS NOT NULL THEN 1 ELSE 0 END), 0)
            AS messaged
        FROM checkout c
        LEFT JOIN contact ct ON ct.id = c.contact_id
        LEFT JOIN recovery_enrollment e ON e.checkout_id = c.id
        WHERE c.store_id = $1 AND c.abandoned_at >= $2 AND c.abandoned_at < $3
          AND c.superseded_by_id IS NULL""",
        store_id,
        start,
        end,
    )
    return {k: int(v or 0) for k, v in found[0].items()}


_ENROLLMENT = "LEFT JOIN recovery_enrollment e ON e.id = m.enrollment_id"
# The recipient wrote back (an inbound shopper message) after this send and before any later
# automated send to them: a reply is credited to the latest message before it, whatever its flow.
_REPLIED = """CASE WHEN m.contact_id IS NOT NULL AND EXISTS (
    SELECT 1 FROM message r WHERE r.store_id = m.store_id AND r.contact_id = m.contact_id
      AND r.direction = 'inbound' AND r.author = 'shopper' AND r.created_at >= m.sent_at
      AND NOT EXISTS (SELECT 1 FROM message n WHERE n.store_id = m.store_id
        AND n.contact_id = m.contact_id AND n.direction = 'outbound' AND n.author = 'automation'
        AND n.sent_at > m.sent_at AND n.sent_at <= r.created_at)
  ) THEN 1 ELSE 0 END"""


# A send's flow, looked up by the enrollment's key for each of the range's sends: a join let the
# planner hash every enrollment of the store (1,000,000 rows) to label one day's sends.
_FLOW = "(SELECT e.flow_id FROM recovery_enrollment e WHERE e.id = m.enrollment_id)"


async def send_groups(
    store_id: int, start: datetime, end: datetime, channel: str | None = None
) -> list[dict[str, Any]]:
    """Automated sends grouped by flow, channel, step, variant and delivery status, with their
    replies and A/B counts: `tested`, the sends made to a checkout we still have, and
    `conversions`, those whose checkout was recovered after the send. What the rollup stores per
    day, and the one read of sends and A/B groups for every raw interval (`inputs.sends` and
    `inputs.variants` take their rows from it)."""
    # One lookup of the send's checkout: NULL when it is gone, else 1 if it was recovered after
    # the send; `tested` and `conversions` both read it, once (`sql.computed_once`).
    converted = """(SELECT CASE WHEN c.status = 'recovered' AND c.completed_at >= m.sent_at
      THEN 1 ELSE 0 END FROM checkout c WHERE c.id = m.checkout_id)"""
    return await sql.rows(
        f"""SELECT flow_id, channel, step_index, variant, status,
          count(*) AS n, COALESCE(sum(segments), 0) AS segments,
          COALESCE(sum(replied), 0) AS replied,
          COALESCE(sum(CASE WHEN sent_at IS NOT NULL AND converted IS NOT NULL THEN 1 ELSE 0 END),
            0) AS tested,
          COALESCE(sum(converted), 0) AS conversions
        FROM (
          SELECT {_FLOW} AS flow_id, m.channel, m.step_index, m.variant, m.status, m.segments,
            m.sent_at, {_REPLIED} AS replied, {converted} AS converted
          FROM message m
          WHERE m.store_id = $1 AND {AUTOMATION} AND m.created_at >= $2 AND m.created_at < $3
            AND m.status NOT IN {NOT_SENT}{sql.channel_filter(channel, "$4")}{sql.computed_once()}
        ) AS s
        GROUP BY flow_id, channel, step_index, variant, status""",
        store_id,
        start,
        end,
        *([channel] if channel else []),
    )


async def clicks(store_id: int, start: datetime, end: datetime, channel: str | None) -> list:
    return await sql.rows(
        f"""SELECT e.flow_id, m.channel, m.step_index, m.variant, count(*) AS clicks,
          count(DISTINCT k.checkout_id) AS checkouts, count(DISTINCT k.message_id) AS messages
        FROM recovery_click k LEFT JOIN message m ON m.id = k.message_id
        LEFT JOIN recovery_enrollment e ON e.id = k.enrollment_id
        WHERE k.store_id = $1 AND k.clicked_at >= $2 AND k.clicked_at < $3
          {sql.channel_filter(channel, "$4")}
        GROUP BY e.flow_id, m.channel, m.step_index, m.variant""",
        store_id,
        start,
        end,
        *([channel] if channel else []),
    )


async def orders(store_id: int, start: datetime, end: datetime) -> list:
    return await sql.rows(
        """SELECT o.id, o.contact_id, o.checkout_id, o.placed_at, o.total, o.currency,
          o.presentment_total, o.presentment_currency, o.discount_codes, o.financial_status,
          o.placed, c.abandoned_at, c.recovery_contacted_at
        FROM "order" o LEFT JOIN checkout c ON c.id = o.checkout_id
        WHERE o.store_id = $1 AND o.placed_at >= $2 AND o.placed_at < $3""",
        store_id,
        start,
        end,
    )


async def touches(
    store_id: int, start: datetime, end: datetime, reach_back: timedelta, channel: str | None
) -> list:
    """Messages we sent (automation or agent) to the shoppers who ordered in the period.

    Found from the period's orders through the message indexes by contact and by checkout: a
    filter over every message of the reach-back window read a week of the store's messages
    (100,000 rows at 1M checkouts) to keep a few dozen."""
    return await sql.rows(
        f"""WITH buyers AS (
          SELECT o.contact_id, o.checkout_id FROM "order" o
          WHERE o.store_id = $1 AND o.placed_at >= $2 AND o.placed_at < $3
        ), hit AS (
          SELECT m.id FROM message m
          WHERE m.store_id = $1 AND m.created_at >= $4 AND m.created_at < $3
            AND m.contact_id IN (SELECT contact_id FROM buyers)
          UNION
          SELECT m.id FROM message m
          WHERE m.created_at >= $4 AND m.created_at < $3
            AND m.checkout_id IN (SELECT checkout_id FROM buyers)
        )
        SELECT m.contact_id, m.checkout_id, m.channel, m.status, m.sent_at, m.delivered_at,
          m.author, m.step_index, e.flow_id
        FROM hit JOIN message m ON m.id = hit.id {_ENROLLMENT}
        WHERE m.store_id = $1 AND m.direction = 'outbound' AND m.author IN ('automation', 'agent')
          AND m.status NOT IN {NOT_SENT}
          {sql.channel_filter(channel, "$5")}""",
        store_id,
        start,
        end,
        start - reach_back,
        *([channel] if channel else []),
    )


async def click_touches(
    store_id: int, start: datetime, end: datetime, reach_back: timedelta, channel: str | None
) -> list:
    return await sql.rows(
        f"""SELECT c.contact_id, k.checkout_id, k.clicked_at, m.channel, m.step_index, e.flow_id
        FROM recovery_click k JOIN checkout c ON c.id = k.checkout_id
        LEFT JOIN message m ON m.id = k.message_id
        LEFT JOIN recovery_enrollment e ON e.id = k.enrollment_id
        WHERE k.store_id = $1 AND k.clicked_at >= $4 AND k.clicked_at < $3
          AND {_ordered_in_period("c.contact_id", "k.checkout_id")}
          {sql.channel_filter(channel, "$5")}""",
        store_id,
        start,
        end,
        start - reach_back,
        *([channel] if channel else []),
    )


async def issued_codes(store_id: int, codes: set[str]) -> list:
    """The issued codes among `codes` (upper case), matched in the database a chunk at a time."""
    found: list[dict[str, Any]] = []
    wanted = sorted(codes)
    for i in range(0, len(wanted), 1000):
        chunk = wanted[i : i + 1000]
        marks = ", ".join(f"${n + 2}" for n in range(len(chunk)))
        found += await sql.rows(
            f"""SELECT upper(code) AS code, COALESCE(assigned_at, created_at) AS issued_at
            FROM recovery_discount_code
            WHERE store_id = $1 AND assigned_at IS NOT NULL AND upper(code) IN ({marks})""",
            store_id,
            *chunk,
        )
    return found


async def rates(store_id: int, store_currency: str) -> list:
    """The latest order per presentment currency: its shop/presentment totals are the rate."""
    return await sql.rows(
        """SELECT o.presentment_currency AS currency, o.total, o.presentment_total, o.placed_at
        FROM "order" o
        WHERE o.store_id = $1 AND o.currency = $2 AND o.presentment_currency IS NOT NULL
          AND o.presentment_currency <> $2 AND o.presentment_total > 0
        ORDER BY o.placed_at DESC LIMIT 500""",
        store_id,
        store_currency,
    )


async def holdout_rows(
    store_id: int, start: datetime, end: datetime, carts: bool | None = None
) -> list:
    """Enrollments entered in the range with their orders: a checkout's, else (an enrollment with
    no checkout, from another trigger) the contact's orders placed after it entered. `carts`:
    only enrollments with a checkout (True), only those without (False), or both (None)."""
    facts = """o.placed_at, o.total, o.currency, o.presentment_total, o.presentment_currency,
          o.financial_status, o.placed"""
    cols = f"e.id, e.flow_id, e.status, e.abandoned_at, {facts}"
    scope = "e.store_id = $1 AND e.abandoned_at >= $2 AND e.abandoned_at < $3"
    # Each entry's orders looked up by its checkout (the index on order.checkout_id): a join let
    # the planner hash every order of the store (100,000 at 1M checkouts) for a day's entries.
    orders = sql.lookup_join('"order"', "o", facts, "o.checkout_id = e.checkout_id")
    with_cart = f"""SELECT {cols} FROM recovery_enrollment e {orders}
        WHERE {scope} AND e.checkout_id IS NOT NULL"""
    cartless = f"""SELECT {cols} FROM recovery_enrollment e
        LEFT JOIN "order" o ON o.store_id = e.store_id AND o.contact_id = e.contact_id
          AND o.placed_at >= e.abandoned_at
        WHERE {scope} AND e.checkout_id IS NULL"""
    query = {True: with_cart, False: cartless, None: f"{with_cart} UNION ALL {cartless}"}[carts]
    return await sql.rows(query, store_id, start, end)


async def last_steps(store_id: int, checkout_ids: list[int]) -> list:
    """The automated messages sent to recovered checkouts, to credit the last step before the order."""
    if not checkout_ids:
        return []
    found: list[dict[str, Any]] = []
    for i in range(0, len(checkout_ids), 5000):
        chunk = checkout_ids[i : i + 5000]
        marks = ", ".join(str(int(c)) for c in chunk)
        found += await sql.rows(
            f"""SELECT m.checkout_id, m.step_index, m.channel, m.sent_at, e.flow_id
            FROM message m {_ENROLLMENT}
            WHERE m.store_id = $1 AND {AUTOMATION} AND m.sent_at IS NOT NULL
              AND m.step_index IS NOT NULL AND m.checkout_id IN ({marks})""",
            store_id,
        )
    return found


async def daily(
    table: str,
    column: str,
    store_id: int,
    start: datetime,
    end: datetime,
    zone: str,
    extra: str,
    *params: Any,
) -> list:
    """Counts per local day; on SQLite the rows come back per timestamp and Python buckets them.

    `extra` adds conditions whose values are bound as `params`, numbered from `$5`."""
    day = sql.local_day(column, "$4")
    return await sql.rows(
        f"""SELECT {day} AS day, count(*) AS n FROM {table} m
        WHERE m.store_id = $1 AND {column} >= $2 AND {column} < $3{extra}
        GROUP BY {day}""",
        store_id,
        start,
        end,
        zone,
        *params,
    )


async def products(store_id: int, start: datetime, end: datetime) -> list:
    """Every (title, currency) group: the ranking happens after the parts of a range are merged."""
    source, title, quantity, total = sql.line_items("c")
    return await sql.rows(
        f"""SELECT {title} AS title, c.currency, count(DISTINCT c.id) AS abandoned,
          sum({quantity}) AS quantity, {sql.money_sum(total)} AS value
        FROM checkout c, {source}
        WHERE c.store_id = $1 AND c.abandoned_at >= $2 AND c.abandoned_at < $3
        GROUP BY {title}, c.currency""",
        store_id,
        start,
        end,
    )


async def conversations(store_id: int, start: datetime, end: datetime) -> dict:
    """From the shared Message table, so the figure is right the day the inbox lands."""
    found = await sql.rows(
        """SELECT count(DISTINCT m.conversation_id) AS conversations,
          COALESCE(sum(CASE WHEN m.direction = 'inbound' AND m.author = 'shopper'
            THEN 1 ELSE 0 END), 0) AS shopper_replies,
          COALESCE(sum(CASE WHEN m.direction = 'outbound' AND m.author = 'agent'
            THEN 1 ELSE 0 END), 0) AS agent_replies,
          count(DISTINCT CASE WHEN m.author = 'agent' THEN m.conversation_id END) AS answered,
          count(DISTINCT CASE WHEN c.status IN ('recovered', 'completed')
            THEN m.conversation_id END) AS converted
        FROM message m LEFT JOIN checkout c ON c.id = m.checkout_id
        WHERE m.store_id = $1 AND m.created_at >= $2 AND m.created_at < $3
          AND (m.conversation_id IS NOT NULL OR m.author IN ('shopper', 'agent'))""",
        store_id,
        start,
        end,
    )
    return {k: int(v or 0) for k, v in found[0].items()}


async def replies(store_id: int, start: datetime, end: datetime) -> list:
    return await sql.rows(
        """SELECT m.channel, count(*) AS n FROM message m
        WHERE m.store_id = $1 AND m.direction = 'inbound' AND m.author = 'shopper'
          AND m.created_at >= $2 AND m.created_at < $3
        GROUP BY m.channel""",
        store_id,
        start,
        end,
    )


async def season_sends(store_id: int, start: datetime, end: datetime, channel: str | None) -> list:
    """Automated sends made under a flow's season override, by season, channel and status."""
    return await sql.rows(
        f"""SELECT m.season, m.channel, m.status, count(*) AS n
        FROM message m
        WHERE m.store_id = $1 AND {AUTOMATION} AND m.created_at >= $2 AND m.created_at < $3
          AND m.season IS NOT NULL AND m.status NOT IN {NOT_SENT}{sql.channel_filter(channel, "$4")}
        GROUP BY m.season, m.channel, m.status""",
        store_id,
        start,
        end,
        *([channel] if channel else []),
    )


async def season_carts(store_id: int, start: datetime, end: datetime, channel: str | None) -> list:
    """Per season: the carts messaged under it, and those recovered after such a message."""
    return await sql.rows(
        f"""SELECT m.season, count(DISTINCT m.checkout_id) AS carts,
          count(DISTINCT CASE WHEN c.status = 'recovered' AND c.completed_at >= m.sent_at
            THEN c.id END) AS recovered
        FROM message m LEFT JOIN checkout c ON c.id = m.checkout_id
        WHERE m.store_id = $1 AND {AUTOMATION} AND m.created_at >= $2 AND m.created_at < $3
          AND m.season IS NOT NULL AND m.status NOT IN {NOT_SENT}{sql.channel_filter(channel, "$4")}
        GROUP BY m.season""",
        store_id,
        start,
        end,
        *([channel] if channel else []),
    )

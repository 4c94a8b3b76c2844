"""Orders count on the store's own calendar day, on SQLite as on PostgreSQL, on every stats surface."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from app.accounts.models import Role
from app.analytics import sql
from app.checkouts.models import Order
from tests.factories import make_store
from tests.web.conftest import login_as


async def _order_late_on_march_first(zone: str) -> str:
    """An order at 22:30 in New York on 1 March, which is 03:30 UTC on 2 March."""
    issued = await make_store()
    issued.store.timezone = zone
    await issued.store.save()
    placed = datetime(2026, 3, 1, 22, 30, tzinfo=UTC) + timedelta(hours=5)
    await Order.create(
        store=issued.store,
        external_id="1001",
        currency="USD",
        total=Decimal("48.00"),
        placed_at=placed,
    )
    return issued.api_token


async def test_a_late_evening_order_counts_on_the_local_day(client):
    token = await _order_late_on_march_first("America/New_York")
    auth = {"Authorization": f"Bearer {token}"}

    async def total(day: str) -> tuple[int, str]:
        response = await client.get(f"/api/v1/stats?from={day}&to={day}", headers=auth)
        assert response.status_code == 200, response.text
        found = response.json()["attribution"]["total"]
        return found["orders"], found["revenue"]

    assert await total("2026-03-01") == (1, "48.00")
    assert await total("2026-03-02") == (0, "0.00")


async def test_every_surface_answers_for_a_range_holding_an_order(client):
    """The landing page of a fresh `followup dev`: an order today, the dashboard, JSON and CSVs."""
    issued = await make_store()
    await Order.create(
        store=issued.store,
        external_id="1002",
        currency="USD",
        total=Decimal("20.00"),
        placed_at=datetime.now(UTC) - timedelta(minutes=5),
    )
    api = await client.get("/api/v1/stats", headers={"Authorization": f"Bearer {issued.api_token}"})
    assert api.status_code == 200, api.text
    assert api.json()["attribution"]["total"]["orders"] == 1
    await login_as(client, issued.store, Role.OWNER)
    for path in ("/dashboard", "/api/v1/stats", "/dashboard/export/attribution.csv"):
        response = await client.get(path)
        assert response.status_code == 200, (path, response.text[-500:])


async def test_raw_rows_carry_aware_utc_datetimes(settings):
    issued = await make_store()
    inside, before = datetime(2026, 3, 2, 3, 30, tzinfo=UTC), datetime(2026, 3, 1, 4, tzinfo=UTC)
    for n, placed in enumerate((inside, before)):
        await Order.create(
            store=issued.store, external_id=str(n), currency="USD", total=1, placed_at=placed
        )
    midnight = datetime(2026, 3, 1, tzinfo=ZoneInfo("America/New_York"))  # 05:00 UTC
    rows = await sql.rows(
        'SELECT placed_at, created_at FROM "order" WHERE placed_at >= $1', midnight
    )
    assert [r["placed_at"] for r in rows] == [inside]
    assert rows[0]["placed_at"].tzinfo is not None and rows[0]["created_at"].tzinfo is not None


async def test_raw_rows_carry_money_as_decimals(settings):
    issued = await make_store()
    for n, total in enumerate(("0.10", "0.20", "19.99")):
        await Order.create(
            store=issued.store,
            external_id=str(n),
            currency="USD",
            total=Decimal(total),
            placed_at=datetime(2026, 3, 2, tzinfo=UTC),
        )
    rows = await sql.rows('SELECT total FROM "order" ORDER BY id')
    assert [r["total"] for r in rows] == [Decimal("0.10"), Decimal("0.20"), Decimal("19.99")]
    money = sql.money_sum("total")
    summed = await sql.rows(f'SELECT {money} AS value FROM "order" WHERE external_id <> $1', "2")
    assert summed == [{"value": Decimal("0.30")}]
    nothing = await sql.rows(f'SELECT {money} AS value FROM "order" WHERE external_id = $1', "x")
    assert nothing == [{"value": None}]

"""The checkouts JSON API: bearer auth, store scoping, status filter, cursor pagination."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from app.checkouts.models import Checkout, CheckoutStatus


async def seed(store, count: int, status: CheckoutStatus = CheckoutStatus.OPEN) -> None:
    for index in range(count):
        await Checkout.create(
            store=store,
            platform="custom",
            token=f"{store.id}-{status}-{index}",
            email=f"s{index}@example.com",
            status=status,
            currency="EUR",
            total=Decimal("19.90"),
            last_activity_at=datetime.now(UTC),
            line_items=[
                {"title": "Mug", "quantity": 1, "unit_price": "19.90", "line_total": "19.90"}
            ],
        )


async def test_requires_a_valid_bearer_token(client):
    from tests.factories import make_store

    await make_store("custom")
    assert (await client.get("/api/v1/checkouts")).status_code == 401
    bad = await client.get("/api/v1/checkouts", headers={"Authorization": "Bearer fu_sk_wrong"})
    assert bad.status_code == 401 and bad.json()["error"] == "invalid_token"


async def test_lists_only_own_store_with_filter_and_cursor(client):
    from tests.factories import make_store

    mine = await make_store("custom", domain="mine.example.com")
    theirs = await make_store("custom", domain="theirs.example.com")
    await seed(mine.store, 5)
    await seed(mine.store, 2, CheckoutStatus.ABANDONED)
    await seed(theirs.store, 3)
    auth = {"Authorization": f"Bearer {mine.api_token}"}

    page = (await client.get("/api/v1/checkouts?limit=4", headers=auth)).json()
    assert len(page["items"]) == 4 and page["next_cursor"]
    rest = (
        await client.get(f"/api/v1/checkouts?limit=4&cursor={page['next_cursor']}", headers=auth)
    ).json()
    assert len(rest["items"]) == 3 and rest["next_cursor"] is None
    ids = [c["id"] for c in page["items"] + rest["items"]]
    assert len(set(ids)) == 7 and ids == sorted(ids, reverse=True)
    assert rest["items"][0]["total"] == "19.90" and rest["items"][0]["currency"] == "EUR"

    abandoned = (await client.get("/api/v1/checkouts?status=abandoned", headers=auth)).json()
    assert {c["status"] for c in abandoned["items"]} == {"abandoned"} and len(
        abandoned["items"]
    ) == 2

    foreign = await Checkout.filter(store=theirs.store).first()
    response = await client.get(f"/api/v1/checkouts/{foreign.id}", headers=auth)
    assert response.status_code == 404
    own = await Checkout.filter(store=mine.store).first()
    assert (await client.get(f"/api/v1/checkouts/{own.id}", headers=auth)).json()["id"] == own.id


async def test_bad_parameters_are_400(client):
    from tests.factories import make_store

    issued = await make_store("custom")
    auth = {"Authorization": f"Bearer {issued.api_token}"}
    assert (await client.get("/api/v1/checkouts?status=lost", headers=auth)).status_code == 400
    assert (await client.get("/api/v1/checkouts?limit=5000", headers=auth)).status_code == 400
    assert (await client.get("/api/v1/checkouts?cursor=%%%", headers=auth)).status_code == 400


async def test_openapi_schema_lists_the_api(client):
    schema = (await client.get("/schema/openapi.json")).json()
    assert "/api/v1/checkouts" in schema["paths"] and "/collect/v1/events" in schema["paths"]


async def test_sorted_by_predicted_score_pages_through_scored_checkouts(client):
    from tests.factories import make_store

    mine = await make_store("custom", domain="mine.example.com")
    await seed(mine.store, 1)  # open, never scored: not in a score sort
    await seed(mine.store, 5, CheckoutStatus.ABANDONED)
    scores = ["0.4000", "0.1200", "0.4000", "0.9000", "0.0500"]
    rows = await Checkout.filter(store=mine.store, status="abandoned").order_by("id")
    for row, score in zip(rows, scores, strict=True):
        await Checkout.filter(id=row.id).update(
            recovery_score=Decimal(score),
            expected_value=Decimal(score) * row.total,
            score_source="model",
        )
    auth = {"Authorization": f"Bearer {mine.api_token}"}
    page = (await client.get("/api/v1/checkouts?sort=score&limit=2", headers=auth)).json()
    seen = page["items"]
    while page["next_cursor"]:
        page = (
            await client.get(
                f"/api/v1/checkouts?sort=score&limit=2&cursor={page['next_cursor']}", headers=auth
            )
        ).json()
        seen += page["items"]
    assert [c["recovery_score"] for c in seen] == ["0.9000", "0.4000", "0.4000", "0.1200", "0.0500"]
    ties = [c["id"] for c in seen if c["recovery_score"] == "0.4000"]
    assert ties == sorted(ties, reverse=True)
    assert seen[0]["expected_value"] == "17.91" and seen[0]["score_source"] == "model"

    by_value = (await client.get("/api/v1/checkouts?sort=expected_value", headers=auth)).json()
    assert by_value["items"][0]["id"] == seen[0]["id"] and len(by_value["items"]) == 5
    bad = await client.get("/api/v1/checkouts?sort=score&cursor=Zm9vfGJhcg", headers=auth)
    assert bad.status_code == 400

"""The discount-code pool of a custom store: upload, what is left, warnings, lookup, the demo's seed."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from app.accounts.models import Role
from app.checkouts.models import Checkout
from app.checkouts.services import mark_abandoned
from app.core.timeutil import utcnow
from app.dev.demo import seed_demo
from app.recovery import pool
from app.recovery.discounts import upload_pool
from app.recovery.models import DiscountCode, DiscountKind
from app.recovery.services import NoDiscount, enroll, issue_discount
from app.stores.models import Store
from tests.factories import make_store
from tests.web.conftest import csrf_from, login_as


def test_codes_are_read_from_a_paste_or_a_csv_export() -> None:
    assert pool.parse_codes("fern-1\n FERN-2 \n\n") == ["FERN-1", "FERN-2"]
    exported = 'Code,Value,Uses\r\n"SAVE-AAA",10%,1\r\nSAVE-BBB,10%,1\r\n'
    assert pool.parse_codes(exported) == ["SAVE-AAA", "SAVE-BBB"]


def test_pool_terms_are_checked_in_words() -> None:
    current = pool.PoolTerms()
    assert pool.read_terms({"kind": "percentage", "value": "15", "warn_below": "3"}, current) == (
        pool.PoolTerms("percentage", Decimal("15"), 3)
    )
    for form, words in (
        ({"kind": "percentage", "value": "150"}, "more than 100"),
        ({"kind": "fixed_amount", "value": "abc"}, "must be a number"),
        ({"kind": "percentage", "value": "10", "warn_below": "-1"}, "whole number"),
    ):
        try:
            pool.read_terms(form, current)
        except pool.PoolProblem as exc:
            assert words in str(exc)
        else:
            raise AssertionError(f"{form} was accepted")


async def test_flows_page_uploads_a_csv_and_a_paste_and_shows_what_is_left(client) -> None:
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    page = await client.get("/flows")
    assert 'data-testid="pool-left">0 codes left' in page.text
    assert "will go out without a code" in page.text  # the default playbook's discount step
    csrf = csrf_from(page.text)
    sent = await client.post(
        "/flows/codes",
        data={
            "csrf_token": csrf,
            "codes": "PASTE-1\nPASTE-2",
            "kind": "percentage",
            "value": "10",
            "warn_below": "5",
        },
        files={
            "file": ("codes.csv", b"Code,Value\nCSV-1,10%\nCSV-2,10%\nPASTE-1,10%\n", "text/csv")
        },
    )
    assert sent.status_code == 303, sent.text
    assert sent.headers["location"] == "/flows?uploaded=4#codes"
    assert await DiscountCode.filter(store=issued.store, kind=DiscountKind.POOL).count() == 4
    after = await client.get("/flows?uploaded=4")
    assert 'data-testid="pool-left">4 codes left' in after.text
    assert "4 new codes added" in after.text and "10% off" in after.text
    assert "Only 4 discount codes left" in after.text  # below the threshold of 5
    dashboard = await client.get("/dashboard")
    assert "Only 4 discount codes left" in dashboard.text


async def test_a_bad_upload_says_why_and_saves_nothing(client) -> None:
    issued = await make_store("custom")
    await login_as(client, issued.store, Role.OWNER)
    csrf = csrf_from((await client.get("/flows")).text)
    refused = await client.post(
        "/flows/codes",
        data={"csrf_token": csrf, "codes": "OK-1\n" + "X" * 80, "kind": "percentage"},
    )
    assert refused.status_code == 422 and "A code is at most 64 characters" in refused.text
    assert await DiscountCode.filter(store=issued.store).count() == 0
    no_csrf = await client.post("/flows/codes", data={"codes": "OK-1"})
    assert no_csrf.status_code == 403
    assert await DiscountCode.filter(store=issued.store).count() == 0


async def test_dashboard_warns_only_where_a_discount_step_will_carry_no_code(client) -> None:
    custom = await make_store("custom")
    await login_as(client, custom.store, Role.OWNER)
    page = await client.get("/dashboard")
    assert 'data-testid="pool-warning"' in page.text
    assert "step 3, email at 24 hours" in page.text
    client.cookies.clear()
    shopify = await make_store("shopify")
    await login_as(client, shopify.store, Role.OWNER, "owner@shopify.example")
    assert 'data-testid="pool-warning"' not in (await client.get("/dashboard")).text


async def test_api_reports_the_pool(client) -> None:
    issued = await make_store("custom")
    auth = {"Authorization": f"Bearer {issued.api_token}"}
    empty = (await client.get("/api/v1/flows/codes", headers=auth)).json()
    assert empty["available"] == 0 and "without a code" in empty["warning"]
    added = await client.post("/api/v1/flows/codes", json={"codes": ["A-1", "A-2"]}, headers=auth)
    assert added.json() == {"added": 2, "available": 2}
    status = (await client.get("/api/v1/flows/codes", headers=auth)).json()
    assert status["available"] == 2 and status["warn_below"] == pool.DEFAULT_WARN_BELOW
    for codes, reason in (
        ([], "at least one code"),
        (["OK-9", "X" * 80], "A code is at most 64 characters"),  # the flows page's own words
        (["C"] * (pool.MAX_UPLOAD + 1), f"at most {pool.MAX_UPLOAD} codes"),
    ):
        refused = await client.post("/api/v1/flows/codes", json={"codes": codes}, headers=auth)
        assert refused.status_code == 422 and refused.json()["error"] == "invalid_codes"
        assert reason in refused.json()["detail"]
    assert (await client.get("/api/v1/flows/codes", headers=auth)).json()["available"] == 2


async def _abandoned(store: Store, token: str = "c-1") -> Checkout:
    checkout = await Checkout.create(
        store=store,
        platform="custom",
        token=token,
        email=f"{token}@example.com",
        total=Decimal("62.50"),
        last_activity_at=utcnow() - timedelta(hours=1),
        abandon_due_at=utcnow() - timedelta(minutes=1),
        recovery_url=f"https://{store.domain}/checkout?restore={token}",
    )
    await mark_abandoned(checkout.id)
    assert await enroll(checkout.id) is not None
    return checkout


async def test_a_shop_page_looks_up_only_codes_that_were_given(client) -> None:
    issued = await make_store("custom", name="Velvet Fern")
    store = issued.store
    await pool.save_terms(store, pool.PoolTerms("percentage", Decimal("10"), 5))
    await DiscountCode.create(store=store, code="FERN-AAA", kind=DiscountKind.POOL)
    await DiscountCode.create(store=store, code="FERN-BBB", kind=DiscountKind.POOL)
    row = await issue_discount(await _abandoned(store))
    key = store.publishable_key
    shop = {"Origin": "https://shop.example.com"}
    found = await client.get(f"/collect/v1/discounts/{row.code.lower()}?key={key}", headers=shop)
    assert found.status_code == 200, found.text
    assert found.headers["access-control-allow-origin"] == "https://shop.example.com"
    body = found.json()
    assert body["code"] == row.code and body["label"] == "10% off" and body["valid"] is True
    assert (body["kind"], body["value"]) == ("percentage", "10")
    other = "FERN-BBB" if row.code == "FERN-AAA" else "FERN-AAA"
    unseen = await client.get(f"/collect/v1/discounts/{other}?key={key}", headers=shop)
    assert unseen.status_code == 404  # a pool code nobody was given stays secret
    evil = await client.get(
        f"/collect/v1/discounts/{row.code}?key={key}", headers={"Origin": "https://evil.example"}
    )
    assert evil.status_code == 403
    assert evil.headers["access-control-allow-origin"] == "https://evil.example"


async def test_the_demo_store_issues_codes_out_of_the_box(settings) -> None:
    demo = await seed_demo("http://127.0.0.1:8000")
    assert demo is not None
    store = demo.issued.store
    status = await pool.status(store)
    assert status.available == 25 and status.warning is None
    checkout = await Checkout.filter(store=store, status="abandoned").order_by("id").first()
    assert checkout is not None and checkout.recovery_url.startswith(
        f"http://127.0.0.1:8000/static/demo/checkout.html?key={store.publishable_key}&restore="
    )
    assert await enroll(checkout.id) is not None  # what the worker does when `followup dev` runs
    row = await issue_discount(checkout)
    assert row.kind == DiscountKind.POOL and row.code.startswith("FERN-")
    assert pool.describe(row, store)["label"] == "10% off"


async def test_expired_pool_codes_are_neither_counted_nor_given(settings) -> None:
    store = (await make_store("custom")).store
    await upload_pool(store, ["OLD-1"], utcnow() - timedelta(days=1))
    status = await pool.status(store)
    assert status.available == 0 and "will go out without a code" in (status.warning or "")
    checkout = await _abandoned(store)
    try:
        await issue_discount(checkout)
    except NoDiscount as exc:
        assert "no discount codes left" in str(exc)
    else:
        raise AssertionError("an expired code was given")
    await upload_pool(store, ["NEW-1"], utcnow() + timedelta(days=30))
    assert (await issue_discount(checkout)).code == "NEW-1"

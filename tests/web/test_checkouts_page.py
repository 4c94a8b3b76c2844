"""The Checkouts page: carts in words, filters and search, keyset pages, the cart panel's actions,
and nothing of another store, ever."""

from __future__ import annotations

import itertools
import re
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from app.accounts.models import Role
from app.checkouts.models import Checkout, Contact
from app.checkouts.services import mark_abandoned
from app.core.timeutil import utcnow
from app.recovery.models import DiscountCode, DiscountKind, Enrollment, EnrollmentStatus
from app.recovery.services import enroll
from app.stores.models import Store
from inbox.models import Conversation
from tests.factories import make_store
from tests.web.conftest import csrf_from, login_as

NUMBERS = itertools.count(1000)


async def cart(
    store: Store,
    token: str,
    at: datetime,
    *,
    email: str | None = None,
    phone: str | None = None,
    first_name: str = "Maya",
    total: str = "64.00",
    score: str | None = None,
    sms_consent: bool = False,
    follow_up: bool = True,
) -> Checkout:
    """A checkout abandoned at `at` with its own contact (an address and phone of its own unless
    given), enrolled in the store's flow by default."""
    email = email or f"{token}@example.com"
    phone = phone or f"+1415555{next(NUMBERS):04d}"
    contact = await Contact.create(
        store=store, email=email, phone=phone, first_name=first_name, sms_consent=sms_consent
    )
    checkout = await Checkout.create(
        store=store,
        platform="custom",
        token=token,
        contact=contact,
        email=email,
        phone=phone,
        currency="USD",
        total=Decimal(total),
        last_activity_at=at - timedelta(minutes=30),
        abandon_due_at=at,
        recovery_url=f"https://{store.domain}/cart?restore={token}",
    )
    assert await mark_abandoned(checkout.id, at)
    if score is not None:
        value = Decimal(score) * Decimal(total)
        await Checkout.filter(id=checkout.id).update(
            recovery_score=Decimal(score), expected_value=value, score_source="prior"
        )
    if follow_up:
        await enroll(checkout.id)
    return await Checkout.get(id=checkout.id)


async def owner(client: Any, store: Store) -> str:
    await login_as(client, store, Role.OWNER)
    return csrf_from((await client.get("/checkouts")).text)


def row_ids(html: str) -> list[int]:
    return [int(n) for n in re.findall(r'data-checkout="(\d+)"', html)]


async def test_each_cart_in_words_with_value_score_contact_next_step_and_time(client):
    store = (await make_store("custom", timezone="America/New_York", name="Fern")).store
    now = utcnow()
    maya = await cart(
        store,
        "a",
        now - timedelta(hours=2),
        score="0.42",
        total="80.00",
        email="maya@example.com",
        phone="+14155550173",
    )
    await cart(store, "b", now - timedelta(hours=1), email="leo@example.com", first_name="Leo")
    conv = await Conversation.create(
        store=store, contact_id=maya.contact_id, checkout=maya, last_message_at=now, opened_at=now
    )
    await owner(client, store)
    page = await client.get("/checkouts")
    assert page.status_code == 200
    html = page.text
    assert 'href="/checkouts" class="active"' in html  # in the nav
    assert row_ids(html) == [maya.id + 1, maya.id]  # newest abandonment first
    assert "$80.00" in html and "42%" in html and "worth $33.60" in html
    assert "Maya" in html and "leo@example.com" in html and "+14155550173" in html
    assert ">Abandoned<" in html
    local = (maya.abandoned_at or now).astimezone(ZoneInfo(store.timezone))
    assert local.strftime("%d %b %Y, %H:%M") in html  # the store's zone, not UTC
    assert f'href="/inbox?conversation={conv.id}"' in html
    assert "EMAIL" in html or "SMS" in html  # the next step's channel


async def test_the_cart_panels_actions_pause_resume_stop_and_a_code(client):
    store = (await make_store("custom")).store
    checkout = await cart(store, "a", utcnow() - timedelta(hours=1))
    await DiscountCode.create(store=store, code="POOL-0001", kind=DiscountKind.POOL)
    csrf = await owner(client, store)
    back = "/checkouts?status=abandoned"

    async def act(path: str, **form: str) -> Any:
        data = {"csrf_token": csrf, "back": back, **form}
        return await client.post(f"/checkouts/{checkout.id}/{path}", data=data)

    paused = await act("sequence", action="pause")
    assert paused.status_code == 303
    assert paused.headers["location"] == f"{back}#checkout-{checkout.id}"
    enrollment = await Enrollment.get(checkout_id=checkout.id)
    assert enrollment.status == EnrollmentStatus.PAUSED
    assert "Follow-ups paused" in (await client.get(back)).text
    assert (await act("sequence", action="resume")).status_code == 303
    assert (await Enrollment.get(id=enrollment.id)).status == EnrollmentStatus.ACTIVE
    assert (await act("discount")).status_code == 303
    assert 'data-testid="code">POOL-0001<' in (await client.get(back)).text
    assert (await act("sequence", action="stop")).status_code == 303
    assert (await Enrollment.get(id=enrollment.id)).status == EnrollmentStatus.STOPPED
    stopped = (await client.get("/checkouts?status=stopped")).text
    assert "Follow-ups stopped" in stopped and row_ids(stopped) == [checkout.id]
    await act("sequence", action="resume")  # the panel offers no resume here; nor does it happen
    assert (await Enrollment.get(id=enrollment.id)).status == EnrollmentStatus.STOPPED
    assert 'data-testid="seq-' not in stopped  # a stopped sequence offers no button
    bad = await act("sequence", action="explode")
    assert bad.status_code == 422 and "action must be one of" in bad.text
    offsite = await client.post(
        f"/checkouts/{checkout.id}/discount", data={"csrf_token": csrf, "back": "https://evil"}
    )
    assert offsite.headers["location"] == f"/checkouts#checkout-{checkout.id}"
    no_csrf = await client.post(f"/checkouts/{checkout.id}/sequence", data={"action": "pause"})
    assert no_csrf.status_code == 403


async def test_another_stores_checkout_never_shows_and_its_actions_404(client):
    mine = (await make_store("custom", domain="mine.example.com")).store
    theirs = (await make_store("custom", domain="theirs.example.com")).store
    own = await cart(mine, "a", utcnow() - timedelta(hours=1), email="me@example.com")
    foreign = await cart(theirs, "a", utcnow() - timedelta(hours=1), email="them@example.com")
    await Conversation.create(
        store=theirs,
        contact_id=foreign.contact_id,
        checkout_id=own.id,
        last_message_at=utcnow(),
        opened_at=utcnow(),
    )  # even a forged link from their conversation to my cart id shows nothing of theirs
    csrf = await owner(client, mine)
    for query in ("", "?q=them", "?sort=score", "?status=abandoned"):
        html = (await client.get(f"/checkouts{query}")).text
        assert foreign.id not in row_ids(html) and "them@example.com" not in html, query
        assert "/inbox?conversation=" not in html
    for path, form in (("sequence", {"action": "stop"}), ("discount", {})):
        response = await client.post(
            f"/checkouts/{foreign.id}/{path}",
            data={"csrf_token": csrf, **form},
            headers={"Accept": "text/html"},
        )
        assert response.status_code == 404, path
        assert "no checkout" in response.text.lower()
    assert (await Enrollment.get(checkout_id=foreign.id)).status == EnrollmentStatus.ACTIVE


async def test_filters_and_search_narrow_the_list(client):
    store = (await make_store("custom")).store
    now = utcnow()
    low = await cart(store, "low", now - timedelta(hours=3), score="0.10", total="20.00")
    high = await cart(
        store,
        "high",
        now - timedelta(hours=2),
        score="0.60",
        total="300.00",
        email="rich@example.com",
        phone="+14155550999",
        first_name="Rita",
        sms_consent=True,
    )
    mid = await cart(store, "mid", now - timedelta(hours=1), score="0.30", total="50.00")
    # More scored carts, so the top fifth by expected value is one cart; equal scores: newest first.
    x0, x1 = [
        await cart(store, f"x{n}", now - timedelta(minutes=50 - n), score="0.20", total="10.00")
        for n in range(2)
    ]
    await owner(client, store)

    async def ids(query: str) -> list[int]:
        response = await client.get(f"/checkouts?{query}")
        assert response.status_code == 200, response.text
        return row_ids(response.text)

    assert await ids("q=rich") == [high.id]
    assert await ids("q=Rita") == [high.id]
    assert await ids("q=555-0999") == [high.id]  # phone digits, however typed
    assert await ids("channel=sms") == [high.id]
    assert await ids("min_score=25&max_score=50") == [mid.id]
    assert await ids("high_value=1") == [high.id]
    assert await ids("sort=score") == [high.id, mid.id, x1.id, x0.id, low.id]
    empty = await client.get("/checkouts?q=nobody")
    assert "No checkouts match" in empty.text and 'data-testid="empty"' in empty.text


async def test_bad_filters_get_a_clear_400_page(client):
    store = (await make_store("custom")).store
    await owner(client, store)
    for query, reason in (
        ("status=lost", "status must be one of"),
        ("min_score=abc", "min_score is a whole percentage"),
        ("min_score=80&max_score=20", "min_score is above max_score"),
        ("sort=random", "sort must be one of"),
        ("cursor=%%%garbage", "page link is broken"),
        ("high_value=yes", "high_value must be one of"),
    ):
        page = await client.get(f"/checkouts?{query}", headers={"Accept": "text/html"})
        assert page.status_code == 400, query
        assert "text/html" in page.headers["content-type"] and reason in page.text.lower(), query


async def test_an_empty_store_gets_a_finished_empty_state(client):
    store = (await make_store("custom")).store
    await owner(client, store)
    page = await client.get("/checkouts")
    assert page.status_code == 200 and "No abandoned checkouts yet" in page.text


async def test_agents_are_sent_to_the_inbox_and_strangers_to_login(client):
    store = (await make_store("custom")).store
    anonymous = await client.get("/checkouts")
    assert anonymous.status_code == 303 and "/login" in anonymous.headers["location"]
    await login_as(client, store, Role.AGENT)
    assert (await client.get("/checkouts")).status_code == 403


async def test_pages_cross_without_duplicates_or_gaps_while_carts_arrive(client):
    store = (await make_store("custom")).store
    start = utcnow() - timedelta(days=2)
    same = start + timedelta(hours=1)
    made = []
    for n in range(60):  # ten share one abandonment time: the id breaks the tie
        at = same if n < 10 else start + timedelta(minutes=7 * n)
        made.append(await cart(store, f"c{n}", at, email=f"s{n}@example.com", follow_up=False))
    await owner(client, store)
    for sort in ("time", "score"):
        if sort == "score":
            for n, c in enumerate(made):
                await Checkout.filter(id=c.id).update(recovery_score=Decimal(n % 7) / 10)
        seen: list[int] = []
        url = f"/checkouts?sort={sort}"
        arrived = 0
        while url:
            html = (await client.get(url)).text
            seen += row_ids(html)
            # New carts arrive between pages: newer than any cursor, they sort above it.
            fresh = await cart(store, f"new-{sort}-{arrived}", utcnow(), follow_up=False)
            if sort == "score":
                await Checkout.filter(id=fresh.id).update(recovery_score=Decimal("0.99"))
            arrived += 1
            found = re.search(r'href="(/checkouts\?[^"]+)" data-testid="next-page"', html)
            url = found.group(1).replace("&amp;", "&") if found else ""
        assert arrived == 3  # 25 + 25 + 10
        assert len(seen) == len(set(seen)) == 60, sort  # no row twice
        assert set(seen) == {c.id for c in made}, sort  # and none skipped

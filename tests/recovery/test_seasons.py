"""Peak-season schedules: date-ranged overrides of a flow's steps on the store's clock, validated
through /api/v1/flows, applied to carts abandoned inside them, tagged and counted apart."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from app.messaging.models import Message
from app.recovery import flows, seasons
from app.recovery.models import Enrollment
from app.recovery.sending import run_step
from app.stores.services import forget_cached_stores
from tests.factories import make_store
from tests.recovery.conftest import abandoned

NEW_YORK = "America/New_York"
SMS = {
    "channel": "sms",
    "delay_seconds": 900,
    "variants": [{"body": "Hi {{ first_name }}, your cart at {{ store_name }}: {{ magic_link }}"}],
}
EMAIL = {
    "channel": "email",
    "delay_seconds": 3600,
    "variants": [{"subject": "Your cart", "body": "Hi {{ first_name or 'there' }}, still there?"}],
}


@pytest.fixture(autouse=True)
def fresh_caches() -> Iterator[None]:
    yield
    flows.forget_steps()
    forget_cached_stores()


@pytest.fixture
async def api(settings):
    issued = await make_store(
        "woocommerce", sms_number="+14155550100", name="Tidewater Teas", timezone=NEW_YORK
    )
    return issued.store, {"Authorization": f"Bearer {issued.api_token}"}


def _season(name: str, starts: str, ends: str, steps: list | None = None) -> dict:
    return {"name": name, "starts_at": starts, "ends_at": ends, "steps": steps or []}


# --- the rules, pure ----------------------------------------------------------------------


def test_a_season_ends_on_the_stores_wall_clock_across_the_dst_change():
    """New York falls back on 1 Nov 2026: noon local is 17:00 UTC that day, not 16:00."""
    found = seasons.parse_all([_season("Fall sale", "2026-10-31", "2026-11-01T12:00")], 2)
    assert seasons.active(found, NEW_YORK, datetime(2026, 11, 1, 16, 30, tzinfo=UTC))
    assert seasons.active(found, NEW_YORK, datetime(2026, 11, 1, 16, 59, tzinfo=UTC))
    assert seasons.active(found, NEW_YORK, datetime(2026, 11, 1, 17, 0, tzinfo=UTC)) is None
    # It starts at local midnight while still on daylight time (UTC-4): 04:00 UTC.
    assert seasons.active(found, NEW_YORK, datetime(2026, 10, 31, 3, 59, tzinfo=UTC)) is None
    assert seasons.active(found, NEW_YORK, datetime(2026, 10, 31, 4, 0, tzinfo=UTC))
    # The same moments in another store's zone fall elsewhere.
    assert seasons.active(found, "Europe/Berlin", datetime(2026, 11, 1, 16, 30, tzinfo=UTC)) is None


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ([_season("A", "2026-11-27", "2026-11-27")], "seasons[0].ends_at must be after"),
        ([_season("A", "2026-11-27T00:00+01:00", "2026-12-01")], "seasons[0].starts_at"),
        ([_season("A", "27/11/2026", "2026-12-01")], "seasons[0].starts_at"),
        (
            [_season("A", "2026-11-20", "2026-11-28"), _season("B", "2026-11-27", "2026-12-01")],
            "seasons[1].starts_at: overlaps seasons[0] (A)",
        ),
        (
            [_season("A", "2026-11-20", "2026-11-21"), _season("a", "2026-12-20", "2026-12-21")],
            "seasons[1].name",
        ),
        ([_season("A", "2026-11-20", "2026-11-21", [None, None, {}])], "seasons[0].steps has 3"),
        (
            [_season("A", "2026-11-20", "2026-11-21", [{"subject": "x"}])],
            "seasons[0].steps[0].subject",
        ),
        ([{**_season("A", "2026-11-20", "2026-11-21"), "until": "x"}], "seasons[0].until"),
    ],
)
def test_bad_seasons_name_the_field(raw, field):
    with pytest.raises(seasons.SeasonProblem) as caught:
        seasons.parse_all(raw, 2)
    assert field in str(caught.value)


def test_seasons_that_touch_do_not_overlap():
    found = seasons.parse_all(
        [_season("BF", "2026-11-27", "2026-12-01"), _season("Dec", "2026-12-01", "2026-12-24")], 1
    )
    assert [s.name for s in found] == ["BF", "Dec"]


# --- the flows API ------------------------------------------------------------------------


async def test_seasons_through_the_flows_api(client, api):
    _, headers = api
    body = {
        "name": "Peak",
        "steps": [SMS, EMAIL],
        "sold_out": "skip",
        "seasons": [
            _season("Always on", "2020-01-01", "2099-01-01", [{"delay_seconds": 300}, None]),
        ],
    }
    created = await client.post("/api/v1/flows", json=body, headers=headers)
    assert created.status_code == 201, created.text
    flow = created.json()
    assert flow["sold_out"] == "skip" and flow["active_season"] == "Always on"
    assert flow["seasons"][0]["starts_at"] == "2020-01-01T00:00"

    # A PUT from a client that knows nothing of seasons keeps them.
    old = {"name": "Peak", "steps": [SMS, EMAIL]}
    put = await client.put(f"/api/v1/flows/{flow['id']}", json=old, headers=headers)
    assert put.status_code == 200, put.text
    assert put.json()["seasons"] == flow["seasons"] and put.json()["sold_out"] == "skip"

    # Today's clients: a flow without seasons reads as before, with an empty list.
    plain = await client.post("/api/v1/flows", json=old, headers=headers)
    assert plain.json()["seasons"] == [] and plain.json()["active_season"] is None
    assert plain.json()["sold_out"] == "omit"


@pytest.mark.parametrize(
    ("seasons_in", "detail"),
    [
        (
            [
                _season("A", "2026-11-20", "2026-11-28"),
                _season("B", "2026-11-27", "2026-12-01"),
            ],
            "seasons[1].starts_at: overlaps seasons[0] (A)",
        ),
        ([_season("A", "2026-12-01", "2026-11-27")], "seasons[0].ends_at must be after starts_at"),
        (  # an email's variants cannot go out as a text
            [_season("A", "2026-11-20", "2026-11-28", [None, {"channel": "sms"}])],
            "seasons[0].steps[1].variants[0]: an SMS has no subject",
        ),
        (  # delays stay in order under the season too
            [_season("A", "2026-11-20", "2026-11-28", [None, {"delay_seconds": 60}])],
            "seasons[0].steps[1].delay_seconds (60) must be greater",
        ),
        (
            [_season("A", "2026-11-20", "2026-11-28", [{"delay_seconds": "soon"}])],
            "seasons[0].steps[0].delay_seconds",
        ),
        (
            [_season("A", "2026-11-20", "2026-11-28", [{"incentive": {"kind": "bogus"}}])],
            "seasons[0].steps[0].incentive",
        ),
    ],
)
async def test_a_bad_season_is_a_422_naming_the_field_and_nothing_is_stored(
    client, api, seasons_in, detail
):
    _, headers = api
    body = {"name": "Peak", "steps": [SMS, EMAIL], "seasons": seasons_in}
    before = await client.get("/api/v1/flows", headers=headers)
    refused = await client.post("/api/v1/flows", json=body, headers=headers)
    assert refused.status_code == 422
    assert detail in refused.json()["detail"], refused.json()
    assert len((await client.get("/api/v1/flows", headers=headers)).json()) == len(before.json())
    [flow] = before.json()
    patched = await client.patch(
        f"/api/v1/flows/{flow['id']}", json={"seasons": seasons_in}, headers=headers
    )
    assert patched.status_code in (422,)
    assert (await client.get(f"/api/v1/flows/{flow['id']}", headers=headers)).json()[
        "seasons"
    ] == []


# --- sending under a season ---------------------------------------------------------------


async def test_a_cart_abandoned_in_season_follows_its_schedule_and_is_counted_apart(
    client, api, deps, clock, fake_twilio
):
    store, headers = api
    [flow] = (await client.get("/api/v1/flows", headers=headers)).json()
    day = clock.now.astimezone(seasons.zone_of(NEW_YORK)).date()
    season = _season("Winter sale", f"{day}T00:00", "2099-01-01T00:00")  # in force now, too
    season["steps"] = [{"delay_seconds": 300}]
    patched = await client.patch(
        f"/api/v1/flows/{flow['id']}", json={"seasons": [season]}, headers=headers
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["active_season"] == "Winter sale"

    _, inside = await abandoned(store, clock.now - timedelta(minutes=6))
    _, before = await abandoned(
        store, clock.now - timedelta(days=1), phone="+14155550188", email="early@example.com"
    )
    assert inside is not None and before is not None
    assert inside.next_due_at == inside.abandoned_at + timedelta(seconds=300)
    assert before.next_due_at == before.abandoned_at + timedelta(seconds=900)  # regular schedule

    assert await run_step(deps, inside.id, 0) == "sent"
    message = await Message.get(enrollment_id=inside.id)
    assert message.season == "Winter sale"
    await Enrollment.filter(id=before.id).update(next_due_at=clock.now)
    await run_step(deps, before.id, 0)
    assert await Message.get(enrollment_id=before.id).values_list("season", flat=True) is None

    stats = (await client.get("/api/v1/stats", headers=headers)).json()
    [row] = stats["seasons"]
    assert (row["season"], row["sent"], row["carts"], row["recovered"]) == ("Winter sale", 1, 1, 0)


AUTO = {
    "channel": "auto",
    "delay_seconds": 900,
    "variants": [
        {
            "subject": "Your cart",
            "body": "Hi {{ first_name or 'there' }}, your cart is saved.",
            "sms_body": "{{ store_name }}: your cart is saved {{ magic_link }}",
        }
    ],
}


async def test_a_season_may_send_an_auto_step_as_email_only(client, api):
    _, headers = api
    season = _season("Email week", "2026-11-20", "2026-11-28", [{"channel": "email"}])
    body = {"name": "Auto", "steps": [AUTO, EMAIL], "seasons": [season]}
    created = await client.post("/api/v1/flows", json=body, headers=headers)
    assert created.status_code == 201, created.text
    at = datetime(2026, 11, 21, 15, tzinfo=UTC)
    [first, _] = await flows.ordered_steps(created.json()["id"], at)
    assert (first.channel, first.season_name) == ("email", "Email week")
    assert "sms_body" not in first.variants[0] and first.variants[0]["subject"] == "Your cart"
    [regular, _] = await flows.ordered_steps(created.json()["id"], at + timedelta(days=30))
    assert (str(regular.channel), regular.season_name) == ("auto", None)

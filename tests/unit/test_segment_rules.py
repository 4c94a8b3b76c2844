"""Pure segment rules: every condition at its edges (Decimal amounts and currency, whole days,
tags, countries, consent), validation naming the exact field, RFM scores and groups, and the
send decision they feed (entry stops, a step is skipped)."""

from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.checkouts.schemas import MAX_TAG_LENGTH, MAX_TAGS, normalize_tags
from app.integrations.collect.normalize import _contact as collect_contact
from app.integrations.shopify.normalize import contact as shopify_contact
from app.integrations.woocommerce.normalize import _plugin_contact
from app.recovery import rules as send_rules
from app.recovery.segments import rules
from app.recovery.segments.rules import Context, Cutoffs, SegmentProblem, Subject
from tests.factories import payload
from tests.unit.test_recovery_rules import facts

NOW = datetime(2026, 6, 15, 12, 0, tzinfo=UTC)
CTX = Context(NOW, "EUR")


def check(conditions, currency="EUR"):
    return rules.validate(conditions, currency)


def unmet(conditions, who, ctx=CTX):
    return rules.unmet(check(conditions, ctx.currency), who, ctx)


# --- validation: the stored form, and the exact field of a refusal ------------------------------


def test_validation_stores_a_normal_form():
    stored = check(
        {
            "orders_count": {"min": "2", "max": 10},
            "total_spent": {"min": "100", "max": 250},
            "last_order_days": {"max": 90},
            "tags_any": ["  VIP ", "vip", "Wholesale  Buyer"],
            "countries": ["de", "FR", "de"],
            "subscribed": True,
            "rfm_groups": ["loyal", "Champions"],
        }
    )
    assert stored == {
        "orders_count": {"min": 2, "max": 10},
        "total_spent": {"min": "100", "max": "250", "currency": "EUR"},
        "last_order_days": {"max": 90},
        "tags_any": ["vip", "wholesale buyer"],
        "countries": ["DE", "FR"],
        "subscribed": True,
        "rfm_groups": ["champions", "loyal"],
    }
    assert check({}) == {}


@pytest.mark.parametrize(
    ("conditions", "field"),
    [
        ([], "conditions: must be an object"),
        ({"spend": {"min": 1}}, "conditions.spend: unknown condition"),
        ({"orders_count": 3}, "conditions.orders_count: must be an object with min and/or max"),
        ({"orders_count": {}}, "conditions.orders_count: must be an object"),
        ({"orders_count": {"least": 1}}, "conditions.orders_count.least: only min and max"),
        ({"orders_count": {"min": -1}}, "conditions.orders_count.min: must be between 0 and"),
        ({"orders_count": {"min": 1.5}}, "conditions.orders_count.min: must be a whole number"),
        ({"orders_count": {"min": "two"}}, "conditions.orders_count.min: must be a whole number"),
        ({"orders_count": {"min": True}}, "conditions.orders_count.min: must be a whole number"),
        ({"orders_count": {"min": 5, "max": 2}}, "conditions.orders_count: min (5) is greater"),
        (
            {"total_spent": {"min": 10.5}},
            "conditions.total_spent.min: must be an amount as a string",
        ),
        ({"total_spent": {"min": "NaN"}}, "conditions.total_spent.min: must be between 0 and"),
        ({"total_spent": {"min": "Infinity"}}, "conditions.total_spent.min: must be between"),
        ({"total_spent": {"min": "-0.01"}}, "conditions.total_spent.min: must be between 0"),
        ({"total_spent": {"min": "1e13"}}, "conditions.total_spent.min: must be between 0"),
        ({"total_spent": {"min": "0.00001"}}, "conditions.total_spent.min: at most 4 decimal"),
        ({"total_spent": {"min": "ten"}}, "conditions.total_spent.min: must be an amount"),
        ({"total_spent": {"max": "5", "min": "5.01"}}, "conditions.total_spent: min (5.01) is"),
        (
            {"total_spent": {"min": "5", "currency": "USD"}},
            "conditions.total_spent.currency: this store sells in EUR",
        ),
        ({"total_spent": {"currency": "EUR"}}, "conditions.total_spent: must have min and/or"),
        ({"last_order_days": {"max": 36501}}, "conditions.last_order_days.max: must be between"),
        ({"tags_any": "vip"}, "conditions.tags_any: must be a non-empty list"),
        ({"tags_all": []}, "conditions.tags_all: must be a non-empty list"),
        ({"tags_none": ["ok", " "]}, "conditions.tags_none: every entry must be non-empty"),
        ({"tags_any": ["x"] * 51}, "conditions.tags_any: at most 50 entries"),
        ({"countries": ["Germany"]}, "conditions.countries: two-letter country codes"),
        ({"countries": ["D1"]}, "conditions.countries: two-letter country codes"),
        ({"subscribed": "yes"}, "conditions.subscribed: must be true or false"),
        ({"rfm_groups": ["whales"]}, "conditions.rfm_groups: unknown group 'whales'"),
    ],
)
def test_a_refusal_names_the_exact_field(conditions, field):
    with pytest.raises(SegmentProblem) as caught:
        check(conditions)
    assert str(caught.value).startswith(field), str(caught.value)


def test_the_currency_given_may_be_the_stores_own_in_any_case():
    assert (
        check({"total_spent": {"min": "1", "currency": "eur"}})["total_spent"]["currency"] == "EUR"
    )


# --- amounts: Decimal edges and currency ---------------------------------------------------------


@pytest.mark.parametrize(
    ("spent", "bounds", "inside"),
    [
        ("100.00", {"min": "100"}, True),  # the bound itself is inside
        ("99.9999", {"min": "100"}, False),
        ("100.0001", {"max": "100"}, False),
        ("100", {"max": "100.0000"}, True),
        ("0", {"max": "0"}, True),
        ("0.1", {"min": "0.1"}, True),  # 0.1 is exactly 0.1: never a float
        ("0.3", {"min": "0.3", "max": "0.3"}, True),
        ("0.30", {"min": "0.1", "max": "0.2"}, False),
        ("999999999999.9999", {"min": "999999999999.9999"}, True),
    ],
)
def test_spend_bounds_are_inclusive_and_exact(spent, bounds, inside):
    who = Subject(total_spent=Decimal(spent), currency="EUR")
    assert (unmet({"total_spent": bounds}, who) is None) is inside


def test_spend_in_another_currency_never_matches_and_says_why():
    who = Subject(total_spent=Decimal("5000"), currency="USD")
    assert unmet({"total_spent": {"min": "10"}}, who) == (
        "spend is counted in USD, the segment in EUR"
    )
    assert unmet({"total_spent": {"max": "10"}}, who) is not None  # not "nothing spent" either
    assert unmet({"total_spent": {"min": "10"}}, replace(who, currency="eur")) is None


def test_orders_count_bounds():
    conditions = {"orders_count": {"min": 2, "max": 3}}
    assert [unmet(conditions, Subject(orders_count=n)) is None for n in range(5)] == [
        False,
        False,
        True,
        True,
        False,
    ]
    assert unmet(conditions, Subject(orders_count=1)) == "orders 1, below 2"
    assert unmet({"orders_count": {"max": 0}}, Subject()) is None  # nobody who bought


def test_last_order_age_is_counted_in_whole_days():
    def at(age: timedelta) -> Subject:
        return Subject(orders_count=1, last_order_at=NOW - age)

    at_least_30 = {"last_order_days": {"min": 30}}
    assert unmet(at_least_30, at(timedelta(days=30))) is None
    assert unmet(at_least_30, at(timedelta(days=30) - timedelta(seconds=1))) is not None
    at_most_7 = {"last_order_days": {"max": 7}}
    assert unmet(at_most_7, at(timedelta(days=7, hours=23, minutes=59))) is None
    assert unmet(at_most_7, at(timedelta(days=8))) == "last order 8 days ago, above 7"
    assert unmet({"last_order_days": {"max": 0}}, at(timedelta(hours=23))) is None
    assert unmet(at_most_7, Subject()) == "no order yet"
    assert unmet({"last_order_days": {"min": 0}}, Subject()) == "no order yet"


# --- tags, countries, consent ---------------------------------------------------------------------


def test_tags_are_normalised_and_bounded():
    assert normalize_tags("VIP, Wholesale ,, vip ,  repeat   buyer") == [
        "repeat buyer",
        "vip",
        "wholesale",
    ]
    assert normalize_tags(["ＶＩＰ", "Vip"]) == ["vip"]  # full-width letters fold (NFKC)
    assert normalize_tags(None) is None  # the source said nothing: tags left as they are
    assert normalize_tags("") == []  # the source says: no tags
    assert normalize_tags({"a": 1}) is None
    assert normalize_tags([True, False, None, 7, "x"]) == ["7", "x"]
    long = normalize_tags(["a" * 500])
    assert long == ["a" * MAX_TAG_LENGTH]
    many = normalize_tags([f"t{i:03}" for i in range(500)])
    assert many is not None and len(many) == MAX_TAGS and many[0] == "t000"


def test_tags_any_all_none():
    who = Subject(tags=frozenset({"vip", "wholesale"}))
    assert unmet({"tags_any": ["VIP", "gold"]}, who) is None
    assert unmet({"tags_any": ["gold"]}, who) == "none of the tags"
    assert unmet({"tags_all": ["vip", "Wholesale"]}, who) is None
    assert unmet({"tags_all": ["vip", "gold"]}, who) == "missing a required tag"
    assert unmet({"tags_none": ["gold"]}, who) is None
    assert unmet({"tags_none": ["wholesale"]}, who) == "has an excluded tag"
    assert unmet({"tags_any": ["vip"]}, Subject()) == "none of the tags"


def test_country_and_subscription():
    assert unmet({"countries": ["de", "at"]}, Subject(country="DE")) is None
    assert unmet({"countries": ["DE"]}, Subject(country="de")) is None
    assert unmet({"countries": ["DE"]}, Subject(country=None)) == "country unknown"
    assert unmet({"subscribed": True}, Subject(subscribed=True)) is None
    assert unmet({"subscribed": True}, Subject()) == "not subscribed"
    assert unmet({"subscribed": False}, Subject(subscribed=True)) == "subscribed"


def test_every_condition_must_hold():
    conditions = {"orders_count": {"min": 1}, "tags_any": ["vip"], "countries": ["DE"]}
    who = Subject(orders_count=2, tags=frozenset({"vip"}), country="DE")
    assert unmet(conditions, who) is None
    assert unmet(conditions, replace(who, country="FR")) == "country FR"


# --- RFM -----------------------------------------------------------------------------------------


def test_quintile_offsets_and_cuts():
    assert rules.quintile_offsets(1) == (0, 0, 0, 0)
    assert rules.quintile_offsets(5) == (1, 2, 3, 4)
    assert rules.quintile_offsets(100) == (20, 40, 60, 80)
    assert rules.quintile_cuts(list(range(10))) == [2, 4, 6, 8]
    with pytest.raises(ValueError):
        rules.quintile_offsets(0)


def test_a_store_with_few_buyers_uses_the_documented_defaults():
    few = rules.store_cutoffs([1, 2, 3, 4], [Decimal(1)] * 4, "EUR", rules.MIN_BUYERS - 1)
    assert (few.recency_days, few.monetary, few.currency) == (
        (30, 90, 180, 365),
        (Decimal(50), Decimal(100), Decimal(250), Decimal(500)),
        None,
    )
    own = rules.store_cutoffs([40, 5, 20, 80], [Decimal("30"), Decimal("10")] * 2, "eur", 60)
    assert own.recency_days == (5, 20, 40, 80) and own.currency == "EUR"
    assert own.monetary == (Decimal(10), Decimal(10), Decimal(30), Decimal(30))


def test_scores_at_their_cut_offs():
    cuts = Cutoffs()
    assert [rules.recency_score(d, cuts) for d in (0, 30, 31, 90, 91, 180, 181, 365, 366)] == [
        5,
        5,
        4,
        4,
        3,
        3,
        2,
        2,
        1,
    ]
    assert [rules.frequency_score(n) for n in range(1, 8)] == [1, 2, 3, 4, 4, 5, 5]
    spend = ["49.9999", "50", "99.99", "100", "250", "499.9999", "500"]
    assert [rules.monetary_score(Decimal(s), "EUR", cuts) for s in spend] == [1, 2, 2, 3, 4, 4, 5]
    own = Cutoffs(monetary=(Decimal(1),) * 4, currency="EUR")
    assert rules.monetary_score(Decimal(900), "USD", own) == 1  # not comparable: lowest
    assert rules.monetary_score(Decimal(900), "eur", own) == 5


def test_every_score_combination_has_exactly_one_group():
    for r, f, m in itertools.product(range(1, 6), repeat=3):
        holders = [g.name for g in rules.GROUPS if g.holds(r, f, m)]
        assert holders, (r, f, m)  # promising (R >= 3) and hibernating (R <= 2) catch the rest
    first = {
        (5, 5, 5): "champions",
        (4, 4, 3): "loyal",
        (3, 3, 5): "loyal",
        (5, 1, 5): "new",
        (4, 2, 1): "promising",
        (3, 1, 1): "promising",
        (2, 5, 5): "at_risk",
        (1, 3, 1): "at_risk",
        (2, 2, 5): "hibernating",
        (1, 1, 1): "hibernating",
    }
    for (r, f, m), name in first.items():
        assert next(g.name for g in rules.GROUPS if g.holds(r, f, m)) == name


def test_rfm_group_of_a_contact():
    cuts = Cutoffs()

    def group(orders, spent, days, currency="EUR"):
        last = None if days is None else NOW - timedelta(days=days)
        return rules.rfm_group(orders, Decimal(spent), currency, last, NOW, cuts)

    assert group(0, "0", None) == "prospects"
    assert group(6, "900", 3) == "champions"
    assert group(4, "60", 100) == "loyal"
    assert group(1, "20", 2) == "new"
    assert group(2, "20", 2) == "promising"
    assert group(5, "900", 400) == "at_risk"
    assert group(1, "900", 200) == "hibernating"
    conditions = {"rfm_groups": ["champions", "loyal"]}
    who = Subject(orders_count=1, total_spent=Decimal(20), last_order_at=NOW, currency="EUR")
    assert unmet(conditions, who) == "in the New customers group"
    assert unmet({"rfm_groups": ["prospects"]}, Subject()) is None


@settings(max_examples=300, deadline=None)
@given(
    orders=st.integers(0, 20),
    cents=st.integers(0, 200_000),
    hours=st.integers(0, 24 * 800),
    recency=st.lists(st.integers(0, 500), min_size=4, max_size=4),
    money=st.lists(st.integers(0, 2000), min_size=4, max_size=4),
)
def test_a_group_condition_matches_exactly_the_contacts_group(orders, cents, hours, recency, money):
    cuts = rules.store_cutoffs(recency, [Decimal(m) for m in money], "EUR", 100)
    ctx = Context(NOW, "EUR", cuts)
    last = NOW - timedelta(hours=hours) if orders else None
    who = Subject(orders_count=orders, total_spent=Decimal(cents) / 100, last_order_at=last)
    who = replace(who, currency="EUR")
    mine = rules.rfm_group(orders, who.total_spent, "EUR", last, NOW, cuts)
    for name in rules.GROUP_NAMES:
        matched = rules.unmet({"rfm_groups": [name]}, who, ctx) is None
        assert matched is (name == mine)


# --- reasons, and the send decision ----------------------------------------------------------------


def test_the_reason_fits_the_stop_reason_column():
    assert rules.not_in("VIP", "orders 0, below 2") == "not in segment VIP (orders 0, below 2)"
    long = rules.not_in("A" * 200, "none of the tags")
    assert long.startswith("not in segment AAA") and len(long) == 64


def test_outside_the_entry_segment_stops_and_outside_a_steps_segment_skips():
    base = facts()
    assert send_rules.decide(base).action == "send"
    stopped = send_rules.decide(
        replace(base, outside_entry="not in segment VIP (none of the tags)")
    )
    assert (stopped.action, stopped.reason) == ("stop", "not in segment VIP (none of the tags)")
    skipped = send_rules.decide(replace(base, outside_step="not in segment Big (spent 0 EUR)"))
    assert (skipped.action, skipped.reason) == ("skip", "not in segment Big (spent 0 EUR)")
    # A purchase still wins: the enrollment stops as ordered, whatever the segment says.
    ordered = replace(base, ordered_since_abandonment=True, outside_entry="not in segment VIP")
    assert send_rules.decide(ordered).reason == "order_placed"


def test_tags_from_shopify_the_woocommerce_plugin_and_identify():
    order = payload("shopify_orders_create.json")
    order["customer"]["tags"] = "VIP, Wholesale ,vip"
    assert shopify_contact(order).tags == ["vip", "wholesale"]
    del order["customer"]["tags"]
    assert shopify_contact(order).tags is None  # nothing said: the contact's tags stay
    assert _plugin_contact({"email": "a@example.com", "tags": ["Gold"]}).tags == ["gold"]
    assert _plugin_contact({"email": "a@example.com"}).tags is None
    identify = {"type": "identify", "traits": {"email": "a@example.com", "tags": "B2B,  vip"}}
    assert collect_contact(identify).tags == ["b2b", "vip"]

"""Pure recovery rules: quiet hours across zones and DST (property-based), and every stop/pace rule."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.recovery import rules
from app.recovery.rules import Cart, Facts, Policy, Reach, Window
from app.recovery.zones import shopper_zone, zone_of_address

ZONES = [
    "America/New_York",
    "America/Los_Angeles",
    "America/Phoenix",
    "America/St_Johns",
    "America/Santiago",
    "Europe/London",
    "Europe/Paris",
    "Asia/Kolkata",
    "Asia/Kathmandu",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Pacific/Kiritimati",
    "Pacific/Apia",
    "UTC",
]
instants = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2032, 12, 31), timezones=st.just(UTC)
)
windows = st.tuples(st.integers(8, 12), st.integers(13, 21)).map(
    lambda b: Window(time(b[0]), time(b[1]))
)


@settings(max_examples=400, deadline=None)
@given(now=instants, zone=st.sampled_from(ZONES), window=windows)
def test_next_allowed_is_the_first_allowed_moment_at_or_after_now(now, zone, window):
    moment = rules.next_allowed(now, zone, window)
    assert moment >= now
    assert moment - now < timedelta(days=2)
    assert rules.is_allowed(moment, zone, window)
    if moment > now:
        # Nothing allowed in between: one minute earlier is either before now or still quiet.
        earlier = moment - timedelta(minutes=1)
        assert earlier < now or not rules.is_allowed(earlier, zone, window)


@settings(max_examples=200, deadline=None)
@given(now=instants, zone=st.sampled_from(ZONES))
def test_never_outside_the_legal_window_whatever_the_store_asks(now, zone):
    policy = Policy(quiet_start=time(5), quiet_end=time(23, 30))
    window = rules.window_for(policy, "US", None)
    local = rules.next_allowed(now, zone, window).astimezone(ZoneInfo(zone)).time()
    assert time(8) <= local < time(21)


def test_dst_spring_forward_morning_in_new_york():
    # 2026-03-08: clocks jump 02:00 -> 03:00. At 01:30 EST the next allowed moment is 09:00 EDT.
    now = datetime(2026, 3, 8, 6, 30, tzinfo=UTC)
    moment = rules.next_allowed(now, "America/New_York", Window(time(9), time(20)))
    assert moment == datetime(2026, 3, 8, 13, 0, tzinfo=UTC)


def test_stricter_state_and_texas_sunday():
    florida = rules.window_for(Policy(quiet_start=time(8), quiet_end=time(21)), "US", "FL")
    assert (florida.start, florida.end) == (time(8), time(20))
    texas = rules.window_for(Policy(), "US", "TX")
    sunday_9am = datetime(2026, 1, 18, 15, 0, tzinfo=UTC)  # 09:00 CST, a Sunday
    assert rules.next_allowed(sunday_9am, "America/Chicago", texas) == datetime(
        2026, 1, 18, 18, 0, tzinfo=UTC
    )


def test_country_override_from_store_settings():
    policy = rules.policy_from_settings(
        {"quiet_hours_overrides": {"FR": {"start": "10:00", "end": "19:00"}}}
    )
    window = rules.window_for(policy, "FR", None)
    assert (window.start, window.end) == (time(10), time(19))


def test_zone_order_phone_then_address_then_browser_then_store():
    assert shopper_zone("+14155550173", "US", "NY", "Europe/Paris", "UTC") == "America/Los_Angeles"
    assert shopper_zone(None, "US", "NY", "Europe/Paris", "UTC") == "America/New_York"
    assert shopper_zone(None, None, None, "Europe/Paris", "UTC") == "Europe/Paris"
    assert shopper_zone(None, None, None, "Not/AZone", "Asia/Tokyo") == "Asia/Tokyo"
    assert zone_of_address("FR", None) == "Europe/Paris"
    assert zone_of_address("AU", "WA") == "Australia/Perth"


ABANDONED = datetime(2026, 1, 14, 17, 0, tzinfo=UTC)


def facts(**overrides) -> Facts:
    base = Facts(
        now=ABANDONED + timedelta(minutes=15),
        channel="sms",
        conditions={},
        store_active=True,
        ordered_since_abandonment=False,
        abandoned_at=ABANDONED,
        reach=Reach("+14155550173", True, ABANDONED - timedelta(days=1), False, False),
        cart=Cart(Decimal("64"), "mobile", "US", False, frozenset()),
        automated_sms_sent=0,
        sequence_started=False,
        other_sequences_in_window=0,
        zone="America/Los_Angeles",
        window=Window(time(9), time(20)),
        policy=Policy(),
    )
    return replace(base, **overrides)


@pytest.mark.parametrize(
    ("overrides", "action", "reason"),
    [
        ({}, "send", ""),
        ({"store_active": False}, "stop", "store_uninstalled"),
        ({"checkout_status": "completed"}, "stop", "order_placed"),
        ({"checkout_status": "recovered"}, "stop", "order_placed"),
        ({"checkout_status": "open"}, "stop", "order_placed"),
        ({"checkout_status": "expired"}, "stop", "checkout_expired"),
        ({"ordered_since_abandonment": True}, "stop", "order_placed"),
        ({"reach": Reach("+14155550173", True, ABANDONED, True, False)}, "skip", "sms opted out"),
        (
            {"reach": Reach("+14155550173", True, ABANDONED, False, True)},
            "skip",
            "sms undeliverable",
        ),
        ({"reach": Reach(None, True, ABANDONED, False, False)}, "skip", "no sms address"),
        (
            {"reach": Reach("+14155550173", True, ABANDONED, False, False, held=True)},
            "skip",
            "sms on hold: the shopper's reply may be an opt-out",
        ),
        ({"store_can_text": False}, "skip", "store has no SMS number"),
        (
            {"reach": Reach("+14155550173", True, ABANDONED + timedelta(seconds=1), False, False)},
            "skip",
            "no sms consent recorded before abandonment",
        ),
        ({"automated_sms_sent": 1}, "skip", "automated sms already sent for this abandonment"),
        ({"now": ABANDONED + timedelta(hours=48, seconds=1)}, "skip", "sms window of 48h"),
        ({"other_sequences_in_window": 1}, "stop", "frequency_cap"),
        ({"other_sequences_in_window": 1, "sequence_started": True}, "send", ""),
        ({"conditions": {"min_total": "100"}}, "skip", "cart below min_total"),
        ({"conditions": {"devices": ["desktop"]}}, "skip", "device mobile not targeted"),
        ({"conditions": {"customer": "returning"}}, "skip", "not a returning customer"),
        ({"conditions": {"countries": ["CA"]}}, "skip", "country US not targeted"),
        ({"conditions": {"tags_any": ["vip"]}}, "skip", "none of tags_any"),
        ({"now": ABANDONED + timedelta(hours=13)}, "defer", "quiet hours"),  # 22:00 in LA
        ({"now": ABANDONED + timedelta(hours=13), "channel": "email"}, "send", ""),
    ],
)
def test_decide(overrides, action, reason):
    if overrides.get("channel") == "email":
        overrides["reach"] = Reach("jane@example.com", False, None, False, False)
    decision = rules.decide(facts(**overrides))
    assert decision.action == action
    assert decision.reason.startswith(reason)


def test_quiet_hours_past_the_48h_window_skip_instead_of_defer():
    at = ABANDONED + timedelta(hours=12)  # 21:00 in LA: the 48h end falls at night
    decision = rules.decide(facts(abandoned_at=at, now=at + timedelta(hours=47)))
    assert (decision.action, decision.reason) == (
        "skip",
        "next allowed hour is past the 48h sms window",
    )


def test_derived_tags_and_variant_weights_and_holdout():
    tags = rules.derive_tags(["VIP"], 3, Decimal("200"), True, Policy())
    assert {"vip", "value:high", "abandonments:3+", "repeat_abandoner", "engaged"} <= tags
    variants = [{"key": "a", "weight": 3}, {"key": "b", "weight": 1}, {"key": "z", "weight": 0}]
    picks = [rules.pick_variant(variants, f"{i}:1")["key"] for i in range(4000)]
    assert "z" not in picks and 0.7 < picks.count("a") / len(picks) < 0.8
    assert rules.pick_variant(variants, "7:1") == rules.pick_variant(variants, "7:1")
    held = sum(rules.in_holdout(1, f"tok{i}", Decimal("10")) for i in range(5000))
    assert 400 < held < 600
    assert not any(rules.in_holdout(1, f"tok{i}", Decimal("0")) for i in range(100))


PHONE = Reach("+14155550173", True, ABANDONED - timedelta(days=1), False, False)
EMAIL = Reach("jane@example.com", False, None, False, False)


def auto(**overrides) -> Facts:
    """An auto step's facts: the email reach, and the SMS reach beside it."""
    return facts(**{"channel": "auto", "reach": EMAIL, "sms_reach": PHONE, **overrides})


def on(device: str) -> Cart:
    return Cart(Decimal("64"), device, "US", False, frozenset())


@pytest.mark.parametrize(
    ("overrides", "channel"),
    [
        ({}, "sms"),  # a mobile shopper who may be texted now
        ({"cart": on("desktop")}, "email"),
        ({"cart": on("tablet")}, "email"),
        ({"cart": on("unknown")}, "email"),
        ({"sms_reach": None}, "email"),  # no SMS reach to resolve to
        ({"store_can_text": False}, "email"),  # a store without an SMS number
        ({"sms_reach": replace(PHONE, address=None)}, "email"),
        ({"sms_reach": replace(PHONE, consent=False)}, "email"),
        ({"sms_reach": replace(PHONE, consent_at=None)}, "email"),
        ({"sms_reach": replace(PHONE, consent_at=ABANDONED + timedelta(seconds=1))}, "email"),
        ({"sms_reach": replace(PHONE, opted_out=True)}, "email"),
        ({"sms_reach": replace(PHONE, undeliverable=True)}, "email"),
        ({"automated_sms_sent": 1}, "email"),
        ({"now": ABANDONED + timedelta(hours=48, seconds=1)}, "email"),
        ({"now": ABANDONED + timedelta(hours=13)}, "email"),  # 22:00 in Los Angeles
        ({"now": ABANDONED + timedelta(hours=16)}, "email"),  # 01:00
        ({"now": ABANDONED + timedelta(hours=30)}, "sms"),  # 15:00 the next day, inside 48 h
    ],
)
def test_an_auto_step_texts_only_a_mobile_shopper_who_can_be_texted_now(overrides, channel):
    resolved = rules.resolve(auto(**overrides))
    assert resolved.channel == channel
    assert resolved.reach == (PHONE if channel == "sms" else EMAIL)
    assert resolved.sms_reach is None
    assert rules.decide(resolved) == rules.SEND  # nothing deferred: the email goes out now


def test_auto_decides_as_its_resolved_channel_and_other_steps_are_left_alone():
    plain = facts()
    assert rules.resolve(plain) is plain
    assert rules.resolve(facts(channel="email", reach=EMAIL)).channel == "email"
    # decide() resolves too, so it can never treat an auto step as a third channel.
    assert rules.decide(auto()) == rules.SEND
    assert rules.decide(auto(checkout_status="completed")) == rules.Decision("stop", "order_placed")
    assert rules.decide(auto(other_sequences_in_window=1)).reason == "frequency_cap"
    desktop_without_email = auto(cart=on("desktop"), reach=replace(EMAIL, address=None))
    assert rules.decide(desktop_without_email) == rules.Decision("skip", "no email address")
    device_condition = auto(conditions={"devices": ["desktop"]})
    assert rules.decide(device_condition).reason == "device mobile not targeted"


def test_auto_at_night_with_email_quiet_hours_defers_the_email_not_a_text():
    night = ABANDONED + timedelta(hours=13)  # 22:00 in Los Angeles
    resolved = rules.resolve(auto(now=night, policy=Policy(email_quiet_hours=True)))
    decision = rules.decide(resolved)
    assert resolved.channel == "email" and decision.action == "defer"
    assert decision.until == datetime(2026, 1, 15, 17, 0, tzinfo=UTC)  # 09:00 in Los Angeles


def test_forecast_moves_a_night_text_to_the_morning_and_says_why():
    from app.recovery.rules import Policy, Window, forecast

    window, zone = Window(time(8), time(21)), "America/Los_Angeles"
    night = datetime(2026, 3, 4, 10, 0, tzinfo=UTC)  # 02:00 in Los Angeles
    morning = datetime(2026, 3, 4, 16, 0, tzinfo=UTC)  # 08:00 there
    before = night - timedelta(hours=1)
    ahead = forecast(night, None, before, "sms", zone, window, Policy())
    assert (ahead.at, ahead.reason) == (morning, "quiet hours")
    deferred = forecast(night, morning, night, "sms", zone, window, Policy())
    assert (deferred.at, deferred.reason) == (morning, "quiet hours")
    email = forecast(night, None, before, "email", zone, window, Policy())
    assert (email.at, email.reason) == (night, None)
    day = forecast(morning, None, before, "sms", zone, window, Policy())
    assert (day.at, day.reason) == (morning, None)
    late = forecast(night, None, before, "email", zone, window, Policy(email_quiet_hours=True))
    assert late.reason == "quiet hours"


def test_the_default_first_text_is_one_gsm7_segment_with_brand_and_stop():
    from types import SimpleNamespace

    from app.recovery import templates
    from app.recovery.playbook import DEFAULT_STEPS

    store = SimpleNamespace(
        name="Velvet Fern Goods",
        domain="velvetfern.example",
        sms_number=None,
        locale="en_US",
        currency="USD",
    )
    checkout = SimpleNamespace(
        locale=None,
        currency="USD",
        subtotal=Decimal("48"),
        total=Decimal("48"),
        line_items=[{"title": "Linen Throw Pillow", "quantity": 1, "unit_price": "48.00"}],
    )
    contact = SimpleNamespace(first_name="Jane", last_name="Doe")
    link = "https://app.velvetfern.example/r/f4240.0-AbCdEfGhIjKl"  # enrollment 1,000,000
    context = templates.build_context(
        store=store,
        checkout=checkout,
        contact=contact,
        magic_link=link,
        unsubscribe_url="",
        discount=None,
    )
    [first] = [s for s in DEFAULT_STEPS if s["channel"] == "sms"]
    text = templates.render_sms(first["variants"][0]["body"], context)
    assert (text.segments, text.encoding) == (1, "GSM-7"), (len(text.text), text.text)
    assert "Velvet Fern Goods" in text.text and text.text.endswith("Reply STOP to opt out.")
    assert link in text.text


def test_an_auto_step_emails_a_shopper_whose_texts_are_on_hold():
    held = replace(PHONE, held=True)
    assert rules.resolve(auto(sms_reach=held)).channel == "email"
    assert rules.resolve(auto()).channel == "sms"


CARTLESS = {"cart_flow": False, "checkout_status": "abandoned"}


@pytest.mark.parametrize(
    ("overrides", "action", "reason"),
    [
        # A payment reminder: its order's state decides; its own placement is no "purchase".
        ({"order_state": "pending", "purchase_stops": False, "transactional": True}, "send", ""),
        ({"order_state": "paid", "purchase_stops": False}, "stop", "order_paid"),
        ({"order_state": "cancelled", "purchase_stops": False}, "stop", "order_cancelled"),
        (
            {"order_state": "pending", "purchase_stops": False, "ordered_since_abandonment": True},
            "send",
            "",
        ),
        # Win-back and welcome stop on a purchase since the entry; a birthday does not.
        ({"ordered_since_abandonment": True}, "stop", "order_placed"),
        ({"ordered_since_abandonment": True, "purchase_stops": False}, "send", ""),
        # The frequency budget: one sequence across flows, transactional ones outside it.
        ({"other_sequences_in_window": 1}, "stop", "frequency_cap"),
        ({"other_sequences_in_window": 1, "transactional": True}, "send", ""),
        # Texts without a cart need consent held, not consent before an abandonment or 48 h.
        (
            {"reach": Reach("+14155550173", True, ABANDONED + timedelta(hours=1), False, False)},
            "send",
            "",
        ),
        ({"reach": Reach("+14155550173", False, None, False, False)}, "skip", "no sms consent"),
        ({"now": ABANDONED + timedelta(days=5), "automated_sms_sent": 3}, "send", ""),
    ],
)
def test_flows_without_a_cart(overrides, action, reason):
    decision = rules.decide(facts(**{**CARTLESS, **overrides}))
    assert (decision.action, decision.reason) == (action, reason)


def test_quiet_hours_defer_a_cartless_text_past_48_hours_instead_of_skipping_it():
    night = ABANDONED + timedelta(days=3, hours=18)  # 03:00 in Los Angeles, days later
    decision = rules.decide(facts(**CARTLESS, now=night))
    assert decision.action == "defer" and decision.until is not None
    cart = rules.decide(
        facts(now=night, reach=Reach("+14155550173", True, ABANDONED, False, False))
    )
    assert cart.action == "skip"

"""Attribution models on hand-built timelines: every boundary, every exclusion, every currency case."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from app.analytics import rules
from app.analytics.rules import OrderFact, Touch, Windows, shopper_keys

T0 = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=30)
W = Windows()
ALICE = shopper_keys(1, 10)


def order(
    at: timedelta, value: str = "100", keys: frozenset[str] = ALICE, **kw: object
) -> OrderFact:
    return OrderFact(id=kw.pop("id", 1), keys=keys, placed_at=T0 + at, value=Decimal(value), **kw)  # type: ignore[arg-type]


def msg(at: timedelta, channel: str = "email", keys: frozenset[str] = ALICE) -> Touch:
    return Touch(keys, channel, T0 + at)


def run(
    orders: list[OrderFact], touches: list[Touch] = (), issued: dict | None = None
) -> rules.Attribution:  # type: ignore[assignment]
    return rules.attribute(NOW, orders, touches, issued or {}, W)


def test_order_before_message_is_never_attributed() -> None:
    result = run(
        [order(timedelta(hours=1))], [msg(timedelta(hours=2)), msg(timedelta(hours=3), "click")]
    )
    assert (result.message.orders, result.click.orders) == (0, 0)
    assert result.total.orders == 1


def test_email_window_inclusive_then_closed() -> None:
    inside = run([order(timedelta(days=5))], [msg(timedelta(0))])
    outside = run([order(timedelta(days=5, seconds=1))], [msg(timedelta(0))])
    assert inside.message.orders == 1 and inside.message.revenue == Decimal(100)
    assert outside.message.orders == 0


def test_sms_window_is_one_day_by_default() -> None:
    assert run([order(timedelta(hours=23))], [msg(timedelta(0), "sms")]).message.orders == 1
    assert run([order(timedelta(hours=25))], [msg(timedelta(0), "sms")]).message.orders == 0


def test_click_window_and_click_model_needs_a_click() -> None:
    result = run([order(timedelta(days=2))], [msg(timedelta(0)), msg(timedelta(days=1), "click")])
    assert result.click.orders == 1 and result.message.orders == 1
    no_click = run([order(timedelta(days=2))], [msg(timedelta(0))])
    assert no_click.click.orders == 0
    late = run([order(timedelta(days=6, hours=1))], [msg(timedelta(days=1), "click")])
    assert late.click.orders == 0


def test_other_shoppers_touches_do_not_count() -> None:
    bob = shopper_keys(2, 20)
    result = run([order(timedelta(hours=2))], [msg(timedelta(hours=1), keys=bob)])
    assert result.message.orders == 0


def test_two_checkouts_of_one_shopper_match_through_the_contact() -> None:
    # Messaged about checkout 10, bought through a new checkout 11: the message model counts it,
    # the recovered model does not (checkout 11 was never abandoned).
    second = order(timedelta(days=1), keys=shopper_keys(1, 11))
    result = run([second], [msg(timedelta(hours=1), keys=shopper_keys(1, 10))])
    assert result.message.orders == 1
    assert result.recovered.orders == 0


def test_guest_checkout_matches_by_checkout_only() -> None:
    guest = shopper_keys(None, 30)
    assert (
        run(
            [order(timedelta(hours=5), keys=guest)], [msg(timedelta(hours=1), keys=guest)]
        ).message.orders
        == 1
    )
    other = order(timedelta(hours=5), keys=shopper_keys(None, 31))
    assert run([other], [msg(timedelta(hours=1), keys=guest)]).message.orders == 0


def test_recovered_needs_abandonment_and_a_message_before_the_order() -> None:
    base = {"abandoned_at": T0, "contacted_at": T0 + timedelta(minutes=15)}
    assert run([order(timedelta(hours=1), **base)]).recovered.orders == 1
    assert (
        run([order(timedelta(minutes=10), **base)]).recovered.orders == 0
    )  # bought before contact
    assert (
        run([order(timedelta(hours=1), abandoned_at=T0)]).recovered.orders == 0
    )  # never contacted
    assert run([order(timedelta(hours=1), contacted_at=T0)]).recovered.orders == 0  # not abandoned


def test_refunded_voided_and_cancelled_orders_are_excluded_everywhere() -> None:
    touches = [msg(timedelta(0)), msg(timedelta(0), "click")]
    for status in ("refunded", "voided", "cancelled"):
        result = run([order(timedelta(hours=1), counts=rules.order_counts(True, status))], touches)
        assert result.total.orders == 0 and result.message.orders == 0 and result.excluded == 1
    result = run([order(timedelta(hours=1), counts=rules.order_counts(False, "paid"))], touches)
    assert result.total.orders == 0
    assert rules.order_counts(True, "partially_refunded") and rules.order_counts(True, None)


def test_discount_model_uses_codes_issued_before_the_order_case_blind() -> None:
    issued = {"COMEBACK-7Q2": T0}
    assert (
        run(
            [order(timedelta(hours=1), codes=frozenset({"comeback-7q2"}))], issued=issued
        ).discount.orders
        == 1
    )
    assert (
        run([order(timedelta(hours=1), codes=frozenset({"SUMMER"}))], issued=issued).discount.orders
        == 0
    )
    early = {"COMEBACK-7Q2": T0 + timedelta(days=1)}
    assert (
        run(
            [order(timedelta(hours=1), codes=frozenset({"COMEBACK-7Q2"}))], issued=early
        ).discount.orders
        == 0
    )


def test_future_orders_wait_for_the_clock() -> None:
    assert run([order(timedelta(days=40))]).total.orders == 0


def test_unconvertible_orders_count_but_add_no_revenue() -> None:
    result = run([OrderFact(1, ALICE, T0 + timedelta(hours=1), None)], [msg(timedelta(0))])
    assert result.total.orders == 1 and result.total.revenue == 0 and result.unconverted == 1


def test_presentment_currency_uses_the_platform_rate_exactly() -> None:
    rate = rules.platform_rate(Decimal("92.50"), Decimal("100.00"))  # EUR shop, USD presentment
    assert rate == Decimal("0.925")
    value = rules.order_value(Decimal("100.00"), "USD", None, None, "EUR", {"USD": rate})
    assert value == Decimal("92.50000")
    assert isinstance(value, Decimal)
    shop = rules.order_value(Decimal("92.50"), "EUR", Decimal("100"), "USD", "EUR", {})
    assert shop == Decimal("92.50")
    assert rules.order_value(Decimal("10"), "JPY", None, None, "EUR", {}) is None
    assert rules.order_value(Decimal("50"), "GBP", Decimal("60"), "EUR", "EUR", {}) == Decimal("60")
    assert rules.platform_rate(Decimal("1"), Decimal("0")) is None


def test_windows_from_settings_clamped() -> None:
    w = rules.windows_from_settings(
        {"email_window_hours": 48, "sms_window_hours": "0", "click_window_hours": 99999}
    )
    assert (
        w.email == timedelta(hours=48)
        and w.sms == timedelta(hours=1)
        and w.click == timedelta(days=90)
    )
    assert rules.windows_from_settings(None) == Windows()


def test_delivery_signal_per_channel() -> None:
    assert rules.is_delivered("email", "sent") and rules.is_delivered("email", "queued")
    assert not rules.is_delivered("sms", "sent") and rules.is_delivered("sms", "delivered")
    assert not rules.is_delivered("email", "failed") and not rules.is_delivered("email", "pending")


# --- properties ----------------------------------------------------------------------------------

offsets = st.integers(min_value=-3 * 24 * 60, max_value=10 * 24 * 60).map(
    lambda m: timedelta(minutes=m)
)
channels = st.sampled_from(["sms", "email", "click"])
shoppers = st.integers(min_value=1, max_value=4).map(lambda i: shopper_keys(i, i * 10))


def _order(
    at: timedelta, who: frozenset[str], cents: int, counts: bool, code: str | None
) -> OrderFact:
    codes = frozenset({code}) if code else frozenset()
    return order(at, str(Decimal(cents) / 100), who, counts=counts, codes=codes)


codes_st = st.sampled_from([None, "FU-1", "OTHER"])
orders_st = st.lists(
    st.builds(_order, offsets, shoppers, st.integers(0, 10**7), st.booleans(), codes_st),
    max_size=25,
)
touches_st = st.lists(
    st.builds(lambda at, ch, who: msg(at, ch, who), offsets, channels, shoppers), max_size=25
)


@settings(max_examples=300, deadline=None)
@given(orders_st, touches_st)
def test_attributed_revenue_never_exceeds_total(
    orders: list[OrderFact], touches: list[Touch]
) -> None:
    result = rules.attribute(NOW, orders, touches, {"FU-1": T0}, W)
    for model in (result.recovered, result.click, result.message, result.discount):
        assert model.orders <= result.total.orders
        assert Decimal(0) <= model.revenue <= result.total.revenue
    assert result.total.orders + result.excluded == sum(1 for o in orders if o.placed_at <= NOW)


@settings(max_examples=300, deadline=None)
@given(orders_st, touches_st, st.integers(0, 600).map(lambda m: timedelta(minutes=m)))
def test_click_after_a_delivered_message_is_within_the_message_model(
    orders: list[OrderFact], touches: list[Touch], gap: timedelta
) -> None:
    """A click `gap` after its delivered message: with click window + gap <= message window,
    every order the click model claims, the message model claims too (click is a subset)."""
    windows = Windows(email=timedelta(days=5, hours=10), sms=timedelta(days=5, hours=10))
    messages = [t for t in touches if t.channel != "click"]
    clicks = [Touch(m.keys, "click", m.at + gap) for m in messages]
    for one in orders:
        result = rules.attribute(NOW, [one], messages + clicks, {}, windows)
        assert result.click.orders <= result.message.orders
        assert result.click.revenue <= result.message.revenue

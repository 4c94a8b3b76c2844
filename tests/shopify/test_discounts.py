"""Discount codes on the fake Shopify: single use, expiring, percentage or amount, errors surfaced."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from app.integrations.shopify.discounts import DiscountError, create_discount

START = datetime(2026, 1, 9, 12, 0, tzinfo=UTC)
END = START + timedelta(hours=48)


async def test_percentage_code_is_single_use_and_expiring(installed, shopify):
    node = await create_discount(
        installed,
        code="COMEBACK-7KQ2",
        title="Recovery 15%",
        percentage=Decimal("0.15"),
        minimum_subtotal=Decimal("50.00"),
        starts_at=START,
        ends_at=END,
    )
    made = shopify.shops[installed.domain].discounts[0]
    assert node == made["id"] and node.startswith("gid://shopify/DiscountCodeNode/")
    assert made["code"] == "COMEBACK-7KQ2"
    assert made["customerGets"] == {"value": {"percentage": 0.15}, "items": {"all": True}}
    assert made["usageLimit"] == 1 and made["appliesOncePerCustomer"] is True
    assert made["startsAt"] == "2026-01-09T12:00:00+00:00"
    assert made["endsAt"] == "2026-01-11T12:00:00+00:00"
    assert made["minimumRequirement"] == {"subtotal": {"greaterThanOrEqualToSubtotal": "50.00"}}


async def test_fixed_amount_code(installed, shopify):
    await create_discount(
        installed,
        code="TENOFF-1",
        title="$10 off",
        amount=Decimal("10.00"),
        starts_at=START,
        ends_at=END,
    )
    made = shopify.shops[installed.domain].discounts[0]
    assert made["customerGets"]["value"] == {
        "discountAmount": {"amount": "10.00", "appliesOnEachItem": False}
    }
    assert "minimumRequirement" not in made


async def test_user_errors_raise_a_clear_exception(installed, shopify):
    kwargs = {"title": "t", "percentage": Decimal("0.1"), "starts_at": START, "ends_at": END}
    await create_discount(installed, code="SAME", **kwargs)
    with pytest.raises(DiscountError, match="Code must be unique") as caught:
        await create_discount(installed, code="same", **kwargs)
    assert caught.value.errors[0]["code"] == "TAKEN"
    assert len(shopify.shops[installed.domain].discounts) == 1


@pytest.mark.parametrize(
    "kwargs",
    [
        {"percentage": Decimal("15")},
        {"percentage": Decimal("0.1"), "amount": Decimal("5")},
        {},
        {"amount": Decimal("-1")},
        {"amount": Decimal("5"), "ends_at": START},
    ],
)
async def test_bad_arguments_are_refused_before_calling_shopify(installed, shopify, kwargs):
    args = {"code": "X", "title": "t", "starts_at": START, "ends_at": END} | kwargs
    with pytest.raises(ValueError):
        await create_discount(installed, **args)
    assert shopify.shops[installed.domain].discounts == []


async def test_recovery_incentive_issues_a_shopify_code_with_shopify_scale(installed, shopify):
    """The recovery engine's 10 % becomes Shopify's 0.1, end to end through the real issuer."""
    from app.checkouts.models import Checkout
    from app.recovery.discounts import Incentive, ensure_discount
    from app.recovery.models import DiscountCode, Enrollment

    checkout = await Checkout.create(
        store=installed,
        platform="shopify",
        token="t-1",
        email="maya@example.com",
        total=Decimal("80"),
        last_activity_at=START,
    )
    enrollment = await Enrollment.create(store=installed, checkout=checkout, abandoned_at=START)
    spec = Incentive.parse(
        {"kind": "percentage", "value": "10", "min_total": "50", "expires_hours": 48}
    )
    row = await ensure_discount(installed, enrollment, spec, Decimal("80"), START)
    assert row is not None and row.provider_id and row.provider_id.startswith("gid://shopify/")
    made = shopify.shops[installed.domain].discounts[0]
    assert made["code"] == row.code
    assert made["customerGets"]["value"] == {"percentage": 0.1}
    assert await DiscountCode.filter(enrollment_id=enrollment.id).count() == 1

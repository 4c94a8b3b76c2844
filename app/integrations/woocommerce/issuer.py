"""Recovery's issuer for WooCommerce stores: a unique coupon per enrollment from our plugin."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from app.checkouts.models import Checkout
from app.integrations.woocommerce.coupons import (
    TIMEOUT_SECONDS,
    CouponError,
    CouponRequest,
    IssuedCoupon,
    create_coupon,
)
from app.recovery.discounts import Incentive, NoCode, mark_issued, reserved_code
from app.recovery.models import DiscountCode, Enrollment
from app.stores.models import Store

_TYPES = {"percentage": "percent", "fixed_amount": "fixed_cart", "free_shipping": "fixed_cart"}


class WooCommerceIssuer:
    """The code is reserved in our database first, so a retry asks the plugin for the same coupon."""

    def __init__(self, timeout: float = TIMEOUT_SECONDS) -> None:
        self.timeout = timeout

    async def issue(
        self, store: Store, enrollment: Enrollment, spec: Incentive, now: datetime
    ) -> DiscountCode | None:
        row = await reserved_code(store, enrollment, spec, now)
        checkout = await Checkout.get_or_none(id=enrollment.checkout_id)
        assert row.ends_at is not None
        free = spec.kind == "free_shipping"
        request = CouponRequest(
            key=f"enrollment:{enrollment.id}",
            code=row.code,
            discount_type=_TYPES.get(spec.kind, "percent"),
            amount=spec.value if spec.value is not None and not free else Decimal(0),
            free_shipping=free,
            minimum_amount=spec.min_total or None,
            expires_at=row.ends_at,
            email=checkout.email if checkout else None,
            description=f"FollowUp recovery of checkout {enrollment.checkout_id}",
        )
        try:
            issued = await create_coupon(store, request, limit_seconds=self.timeout)
        except CouponError as exc:
            raise NoCode(f"WooCommerce coupon not created: {exc.reason}") from None
        return await _adopt(row, issued, f"wc_coupon:{issued.coupon_id}")


async def _adopt(row: DiscountCode, issued: IssuedCoupon, provider_id: str) -> DiscountCode:
    """The plugin answers with the coupon it holds for the enrollment; a racing request may have
    made it under another code, and the shopper must be shown the code that works."""
    if issued.code.upper() == row.code.upper():
        return await mark_issued(row, provider_id)
    sibling = await DiscountCode.get_or_none(
        store_id=row.store_id,
        code=issued.code.upper(),
    )
    if sibling is not None:
        await DiscountCode.filter(id=row.id, provider_id=None).delete()
        return await mark_issued(sibling, provider_id)
    await DiscountCode.filter(id=row.id).update(code=issued.code.upper())
    row.code = issued.code.upper()
    return await mark_issued(row, provider_id)

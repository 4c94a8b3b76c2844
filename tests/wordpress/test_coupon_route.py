"""The coupons route in a real WordPress: routed by core's REST server, signature checked by the
plugin's permission callback, refusals in WordPress's {code, message, data.status} shape.

Creating the coupon needs WooCommerce's WC_Coupon, which the stand-in does not provide; that part
is proven on the PHPUnit shim and through `php -S` (tests/plugins/test_coupon_contract.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from app.integrations.woocommerce.coupons import CouponRequest, signed_headers
from tests.wordpress.site import PLUGIN_FILE, WordPress
from tests.wordpress.test_real_wordpress import NEWEST, SECRET, _plugin_problems, _save_settings


@pytest.fixture
def coupon_site(wordpress_sites) -> Iterator[WordPress]:
    """The shared newest site with the plugin active; left as found (inactive, no options)."""
    wp = wordpress_sites(NEWEST, True)
    was_active = wp.php("active", PLUGIN_FILE)["active"]
    if not was_active:
        assert wp.php("activate", PLUGIN_FILE) == {"active": True}
    yield wp
    if not was_active:
        assert wp.php("uninstall", PLUGIN_FILE) == {"uninstalled": True}


def _post(wp, body: bytes, headers: dict[str, str]) -> httpx.Response:
    return httpx.post(
        f"{wp.url}/?rest_route=/followup/v1/coupons", content=body, headers=headers, timeout=30
    )


def test_the_coupon_route_is_routed_and_verified_by_real_wordpress(coupon_site):
    active_site = coupon_site
    with active_site.admin() as admin:
        _save_settings(
            admin, {"app_url": "http://127.0.0.1:9", "store_id": "7", "webhook_secret": SECRET}
        )
    request = CouponRequest(
        key="enrollment:1",
        code="BACK-REALWPAA",
        discount_type="percent",
        amount=Decimal("120"),  # refused by the plugin's validation, before WooCommerce is needed
        expires_at=datetime.now(UTC) + timedelta(hours=48),
    )
    body = request.body()
    invalid = _post(active_site, body, signed_headers(SECRET, body, request.key))
    assert invalid.status_code == 400, invalid.text
    assert invalid.json() == {
        "code": "followup_invalid_coupon",
        "message": "a percent coupon cannot exceed 100",
        "data": {"status": 400},
    }
    foreign = _post(active_site, body, signed_headers("whsec_another_store_0000000", body, "k"))
    stale = _post(active_site, body, signed_headers(SECRET, body, "k", now=time.time() - 301))
    unsigned = _post(active_site, body, {"Content-Type": "application/json"})
    for answer, why in (
        (foreign, "signature does not match"),
        (stale, "timestamp outside the five-minute window"),
        (unsigned, "missing or malformed X-FollowUp-Timestamp"),
    ):
        assert answer.status_code == 401, answer.text
        assert json.loads(answer.text)["message"] == why
    assert _plugin_problems(active_site) == []

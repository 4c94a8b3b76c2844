"""A magic link's target must be the store's own site: every way a URL could lead elsewhere."""

from __future__ import annotations

import pytest

from app.stores.sites import is_own_site, origin_of, site_origins

CUSTOM = site_origins("custom", "shop.example.com", ["https://checkout.shop-pay.example:8443"])
SHOPIFY = site_origins(
    "shopify", "velvet-fern-goods.myshopify.com", ["https://www.velvetfern.example"]
)
WOO_WWW = site_origins("woocommerce", "www.tidewater.example", [])
OPEN_CAPTURE = site_origins("custom", "shop.example.com", ["*"])


@pytest.mark.parametrize(
    "url",
    [
        "https://shop.example.com/cart?restore=c-1",
        "http://shop.example.com/cart",
        "https://SHOP.Example.com/cart",
        "https://shop.example.com./cart",
        "https://www.shop.example.com/checkout",
        "https://shop.example.com:443/cart",
        "https://checkout.shop-pay.example:8443/pay/1",
    ],
)
def test_the_stores_domains_and_allowed_origins_are_followed(url):
    assert is_own_site(url, CUSTOM)


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example",
        "https://evil.example/shop.example.com",
        "https://shop.example.com.evil.example/cart",
        "https://evilshop.example.com/cart",
        "https://sub.shop.example.com/cart",
        "https://shop.example.com@evil.example/",
        "https://shop.example.com:x@evil.example/",
        "https://evil.example\\@shop.example.com/",
        "https://evil.example\\.shop.example.com/",
        "https://shop.example.com:8443/cart",
        "https://checkout.shop-pay.example/pay/1",
        "http://checkout.shop-pay.example:8443/pay/1",
        "//evil.example/cart",
        "/cart",
        "shop.example.com/cart",
        "javascript:alert(1)//shop.example.com",
        "data:text/html,<script>alert(1)</script>",
        "ftp://shop.example.com/cart",
        "https://shop.example.com:99999/cart",
        "https://shop.example.com:abc/cart",
        "https://shop.example.com\t/cart",
        "https://shop.example.com/ca rt",
        "https://shop.example.com/\x00",
        "https://shop.example.com/\r\nLocation: https://evil.example",
        " https://shop.example.com/cart",
        "https://checkout.shopify.com/123/checkouts/abc",
        "",
        "https://shop.example.com/" + "a" * 2048,
    ],
)
def test_anything_else_is_not(url):
    assert not is_own_site(url, CUSTOM)


def test_shopify_stores_follow_their_myshopify_primary_and_checkout_hosts():
    for url in (
        "https://velvet-fern-goods.myshopify.com/72817360915/checkouts/e3b0/recover?key=8c1f",
        "https://www.velvetfern.example/72817360915/checkouts/e3b0/recover?key=8c1f",
        "https://checkout.shopify.com/72817360915/checkouts/e3b0?key=8c1f",
    ):
        assert is_own_site(url, SHOPIFY), url
    for url in ("https://other-shop.myshopify.com/1/checkouts/x", "https://shopify.com/"):
        assert not is_own_site(url, SHOPIFY), url


def test_a_www_domain_also_owns_its_bare_name():
    assert is_own_site("https://tidewater.example/checkout/order-pay/7/", WOO_WWW)
    assert is_own_site("https://www.tidewater.example/checkout/order-pay/7/", WOO_WWW)


def test_an_open_capture_origin_does_not_open_redirects():
    assert not is_own_site("https://evil.example/", OPEN_CAPTURE)
    assert is_own_site("https://shop.example.com/", OPEN_CAPTURE)


def test_origins_compare_like_browsers_do():
    assert origin_of("https://Shop.Example.com/a") == ("https", "shop.example.com", 443)
    assert origin_of("http://127.0.0.1:8000/demo/shop") == ("http", "127.0.0.1", 8000)
    assert origin_of("https://user:pw@shop.example.com/") is None
    assert site_origins("custom", "shop.example.com", ["not a url", ""]) == site_origins(
        "custom", "shop.example.com", []
    )

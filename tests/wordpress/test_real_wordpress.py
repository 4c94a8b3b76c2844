"""FollowUp for WooCommerce in a real WordPress (6.2 and the newest build), on a private MariaDB.

WooCommerce itself cannot be installed here: a stand-in plugin under the slug `woocommerce`
(tests/wordpress/woocommerce/) provides the class, the wc-settings page and its save hooks.
Carts, orders and checkout stay on the PHPUnit shim.
"""

from __future__ import annotations

import asyncio
import html
import json
import re
import time

import httpx
import pytest

from app.ingest.models import RawEvent
from app.integrations.woocommerce.webhooks import sign_plugin
from tests.factories import make_store
from tests.wordpress.site import PLUGIN_FILE, WordPress, oldest_and_newest

try:  # the builds are listed by an npm package: without it, the whole module skips (fails under CI)
    OLDEST, NEWEST = oldest_and_newest()
except pytest.skip.Exception as skipped:
    pytest.skip(skipped.msg, allow_module_level=True)
NOTICE = "FollowUp for WooCommerce needs WooCommerce to be installed and active."
SECRET = "whsec_wordpress_test_secret_0123456789"


def _activate_from_the_plugins_screen(admin: httpx.Client) -> httpx.Response:
    page = admin.get("/wp-admin/plugins.php")
    assert page.status_code == 200
    link = re.search(
        r'href="(plugins\.php\?action=activate&amp;plugin=followup-for-woocommerce[^"]+)"',
        page.text,
    )
    assert link, "no Activate link for FollowUp on the Plugins screen"
    return admin.get(f"/wp-admin/{html.unescape(link.group(1))}")


def _plugin_problems(wp: WordPress) -> list[str]:
    """PHP notices, warnings and errors that point into our plugin's files."""
    return [line for line in wp.debug_log().splitlines() if "followup-for-woocommerce" in line]


@pytest.mark.parametrize("build", [OLDEST, NEWEST])
def test_the_plugin_activates_cleanly_next_to_woocommerce(wordpress_sites, build):
    wp = wordpress_sites(build, True)
    with wp.admin() as admin:
        activated = _activate_from_the_plugins_screen(admin)
        assert "Plugin activated." in activated.text
        assert NOTICE not in activated.text
        settings = admin.get(
            "/wp-admin/admin.php", params={"page": "wc-settings", "tab": "followup"}
        )
        assert settings.status_code == 200 and "Webhook secret" in settings.text
    assert wp.php("active", PLUGIN_FILE) == {"active": True}
    assert _plugin_problems(wp) == []


def test_without_woocommerce_on_6_2_it_activates_and_explains_itself(wordpress_sites):
    wp = wordpress_sites(OLDEST, False)
    with wp.admin() as admin:
        activated = _activate_from_the_plugins_screen(admin)
        assert "Plugin activated." in activated.text
        assert NOTICE in activated.text
        assert NOTICE in admin.get("/wp-admin/").text
    assert _plugin_problems(wp) == []


def test_without_woocommerce_on_the_newest_build_core_refuses_with_its_dependency_message(
    wordpress_sites,
):
    wp = wordpress_sites(NEWEST, False)
    with wp.admin() as admin:
        page = admin.get("/wp-admin/plugins.php").text
        row = page[page.index('data-plugin="followup-for-woocommerce/') :]
        row = row[: row.index("</tr>")]
        assert "<strong>Requires:</strong> woocommerce" in row
        assert "cannot be activated because required plugins are missing or inactive" in row
        assert "action=activate&amp;plugin=followup-for-woocommerce" not in row
    refused = wp.php("activate", PLUGIN_FILE)
    assert refused["error"] == "plugin_missing_dependencies", refused
    assert wp.php("active", PLUGIN_FILE) == {"active": False}


def _save_settings(admin: httpx.Client, values: dict[str, str]) -> httpx.Response:
    path = "/wp-admin/admin.php?page=wc-settings&tab=followup"
    form = admin.get(path).text
    nonce = re.search(r'name="_wpnonce" value="([^"]+)"', form)
    assert nonce, "the settings form carries no nonce"
    data = {f"followup_settings[{k}]": v for k, v in values.items()}
    data |= {"_wpnonce": nonce.group(1), "_wp_http_referer": path, "save": "Save changes"}
    return admin.post(path, data=data)


@pytest.fixture(scope="module")
def active_site(wordpress_sites) -> WordPress:
    wp = wordpress_sites(NEWEST, True)
    if not wp.php("active", PLUGIN_FILE)["active"]:
        assert wp.php("activate", PLUGIN_FILE) == {"active": True}
    return wp


def test_the_settings_page_renders_and_saves_without_echoing_the_secret(active_site):
    with active_site.admin() as admin:
        page = admin.get("/wp-admin/admin.php", params={"page": "wc-settings", "tab": "followup"})
        labels = ("App URL", "Store id", "Webhook secret", "SMS consent", "Birthday field")
        for label in (*labels, "Test connection"):
            assert label in page.text
        saved = _save_settings(
            admin,
            {
                "app_url": "http://127.0.0.1:9/",
                "store_id": "7",
                "webhook_secret": SECRET,
                "birthday_field": "1",
            },
        )
        assert "Your settings have been saved." in saved.text
        assert SECRET not in saved.text and "Status: set" in saved.text
        assert active_site.php("option", "followup_settings")["value"]["birthday_field"] == "yes"
        refused = _save_settings(admin, {"app_url": "ftp://x", "store_id": "seven"})
        assert "The app URL must start with https://" in refused.text
        assert "The store id is the number FollowUp showed" in refused.text
    stored = active_site.php("option", "followup_settings")["value"]
    assert stored["app_url"] == "http://127.0.0.1:9" and stored["store_id"] == 7
    assert stored["webhook_secret"] == SECRET
    assert stored["birthday_field"] == "no"  # not posted by the second save: an unticked box
    assert _plugin_problems(active_site) == []


def _signed_status(
    wp: WordPress, secret: str, *, age: int = 0, body: bytes = b"{}"
) -> httpx.Response:
    timestamp = int(time.time()) - age
    return httpx.post(
        f"{wp.url}/?rest_route=/followup/v1/status",
        content=body,
        headers={
            "Content-Type": "application/json",
            "X-FollowUp-Timestamp": str(timestamp),
            "X-FollowUp-Signature": sign_plugin(secret, timestamp, body),
        },
        timeout=30,
    )


def test_the_apps_signed_call_reaches_the_plugin_rest_route_and_is_verified(active_site):
    with active_site.admin() as admin:
        _save_settings(
            admin, {"app_url": "http://127.0.0.1:9", "store_id": "7", "webhook_secret": SECRET}
        )
    ok = _signed_status(active_site, SECRET)
    assert ok.status_code == 200, ok.text
    assert ok.json()["store_id"] == 7 and ok.json()["wordpress"].startswith(NEWEST)
    assert _signed_status(active_site, "another-secret-entirely-000").status_code == 401
    assert _signed_status(active_site, SECRET, age=3600).status_code == 401
    unsigned = httpx.post(f"{active_site.url}/?rest_route=/followup/v1/status", content=b"{}")
    assert unsigned.status_code == 401
    assert json.loads(unsigned.text)["code"] == "followup_stale_request"


def _test_connection(wp: WordPress, settings: dict[str, str]) -> dict:
    with wp.admin() as admin:
        _save_settings(admin, settings)
        page = admin.get("/wp-admin/admin.php", params={"page": "wc-settings", "tab": "followup"})
        nonce = re.search(r'id="followup-test-connection" data-nonce="([^"]+)"', page.text)
        assert nonce, "no Test connection button"
        answer = admin.post(
            "/wp-admin/admin-ajax.php",
            data={"action": "followup_test_connection", "nonce": nonce.group(1)},
        )
        assert answer.status_code == 200, answer.text
        return answer.json()


async def test_test_connection_signs_through_wordpress_http_and_the_app_verifies_it(
    active_site, app_server
):
    issued = await make_store("woocommerce")
    good = {
        "app_url": app_server,
        "store_id": str(issued.store.id),
        "webhook_secret": issued.webhook_secret,
    }
    answer = await asyncio.to_thread(_test_connection, active_site, good)
    assert answer == {
        "success": True,
        "data": {"message": f'Connected to FollowUp store "{issued.store.name}".'},
    }
    wrong = good | {"webhook_secret": "whsec_not_the_right_secret_at_all"}
    refused = await asyncio.to_thread(_test_connection, active_site, wrong)
    assert refused["success"] is False and "Connection failed" in refused["data"]["message"]
    assert await RawEvent.all().count() == 0  # a connection test stores nothing


def test_uninstall_removes_the_plugins_options(active_site):
    assert active_site.php("option", "followup_settings")["value"]
    assert active_site.php("uninstall", PLUGIN_FILE) == {"uninstalled": True}
    assert active_site.php("option", "followup_settings") == {"value": None}
    assert active_site.php("active", PLUGIN_FILE) == {"active": False}

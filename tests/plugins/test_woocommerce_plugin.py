"""The WordPress plugin's own checks: every PHP file lints and its PHPUnit suite passes."""

from __future__ import annotations

import pytest

from tests.plugins.conftest import PLUGIN, assert_php_lints, assert_phpunit_passes


@pytest.mark.needs_tool("php")
def test_every_php_file_lints() -> None:
    assert_php_lints(PLUGIN, at_least=15)


@pytest.mark.needs_tool("php", "phpunit")
def test_phpunit_suite_passes() -> None:
    assert_phpunit_passes(PLUGIN)


def test_plugin_files_follow_wordpress_conventions() -> None:
    main = (PLUGIN / "followup-for-woocommerce.php").read_text()
    for header in ("Plugin Name:", "Text Domain: ", "Requires PHP:", "WC requires at least:"):
        assert header in main
    for path in PLUGIN.joinpath("includes").glob("*.php"):
        text = path.read_text()
        assert "defined( 'ABSPATH' ) || exit;" in text, f"{path.name} lacks the ABSPATH guard"
        assert text.count("\nclass ") + text.count("\nfinal class ") == 1, f"{path.name}: one class"
    assert "WP_UNINSTALL_PLUGIN" in (PLUGIN / "uninstall.php").read_text()
    readme = (PLUGIN / "readme.txt").read_text()
    assert readme.startswith("=== FollowUp for WooCommerce ===")
    assert "== Changelog ==" in readme and "Stable tag: " in readme

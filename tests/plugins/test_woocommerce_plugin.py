"""The WordPress plugin's own checks: every PHP file lints and its PHPUnit suite passes."""

from __future__ import annotations

import subprocess

import pytest

from tests.plugins.conftest import PLUGIN
from tests.vendor_tools import program


@pytest.mark.needs_tool("php")
def test_every_php_file_lints() -> None:
    php = program("php")
    files = sorted(PLUGIN.rglob("*.php"))
    assert len(files) >= 15
    failures = []
    for path in files:
        result = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            failures.append(result.stdout + result.stderr)
    assert not failures, "\n".join(failures)


@pytest.mark.needs_tool("php", "phpunit")
def test_phpunit_suite_passes() -> None:
    result = subprocess.run(
        [program("phpunit"), "--configuration", str(PLUGIN / "phpunit.xml.dist")],
        capture_output=True,
        text=True,
        cwd=PLUGIN,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK (" in result.stdout


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

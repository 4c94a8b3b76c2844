"""The Magento module's own checks: PHP lints, XML declarations parse, its PHPUnit suite passes."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.vendor_tools import program

MODULE = Path(__file__).resolve().parents[2] / "plugins" / "magento2"


@pytest.mark.needs_tool("php")
def test_every_php_file_lints() -> None:
    php = program("php")
    files = sorted(MODULE.rglob("*.php"))
    assert len(files) >= 12
    failures = []
    for path in files:
        result = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            failures.append(result.stdout + result.stderr)
    assert not failures, "\n".join(failures)


@pytest.mark.needs_tool("php", "phpunit")
def test_phpunit_suite_passes() -> None:
    result = subprocess.run(
        [program("phpunit"), "--configuration", str(MODULE / "phpunit.xml.dist")],
        capture_output=True,
        text=True,
        cwd=MODULE,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK (" in result.stdout


def test_module_declares_what_magento_reads() -> None:
    for path in MODULE.joinpath("etc").rglob("*.xml"):
        ET.parse(path)  # raises on malformed XML
    assert (
        "ComponentRegistrar::MODULE, 'FollowUp_Recovery'"
        in (MODULE / "registration.php").read_text()
    )
    module = ET.parse(MODULE / "etc" / "module.xml").getroot().find("module")
    assert module is not None and module.get("name") == "FollowUp_Recovery"
    events = ET.parse(MODULE / "etc" / "events.xml").getroot()
    observed = {e.get("name"): e.find("observer").get("instance") for e in events.iter("event")}  # type: ignore[union-attr]
    assert observed == {
        "sales_quote_save_after": "FollowUp\\Recovery\\Observer\\QuoteSaved",
        "checkout_submit_all_after": "FollowUp\\Recovery\\Observer\\OrderPlaced",
    }
    for instance in observed.values():
        assert (
            MODULE / (instance.removeprefix("FollowUp\\Recovery\\").replace("\\", "/") + ".php")
        ).is_file()
    secret = (
        ET.parse(MODULE / "etc" / "adminhtml" / "system.xml")
        .getroot()
        .find(".//field[@id='secret']")
    )
    assert secret is not None
    assert secret.findtext("backend_model") == "Magento\\Config\\Model\\Config\\Backend\\Encrypted"

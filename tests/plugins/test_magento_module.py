"""The Magento module's own checks: PHP lints, XML declarations parse, its PHPUnit suite passes."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.plugins.conftest import assert_php_lints, assert_phpunit_passes

MODULE = Path(__file__).resolve().parents[2] / "plugins" / "magento2"


@pytest.mark.needs_tool("php")
def test_every_php_file_lints() -> None:
    assert_php_lints(MODULE, at_least=12)


@pytest.mark.needs_tool("php", "phpunit")
def test_phpunit_suite_passes() -> None:
    assert_phpunit_passes(MODULE)


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

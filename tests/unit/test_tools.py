"""A test needing a missing Debian/npm tool skips with its install command, and fails under CI."""

from __future__ import annotations

import pytest

from tests import vendor_tools

NAME = "followup-no-such-tool"


@pytest.fixture
def missing_tool(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(vendor_tools.INSTALL, NAME, f"apt-get install -y {NAME}")
    return NAME


def test_a_missing_tool_skips_naming_the_install_command(monkeypatch, missing_tool):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        vendor_tools.program(missing_tool)
    assert str(skipped.value) == f"{NAME} is not installed: apt-get install -y {NAME}"


def test_under_ci_a_missing_tool_fails(monkeypatch, missing_tool):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        vendor_tools.program(missing_tool)
    assert f"apt-get install -y {NAME}" in str(failed.value)


def test_a_missing_npm_package_names_npm_ci(monkeypatch):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        vendor_tools.npm_package("@followup/no-such-package")
    assert "cd tests/tools && npm ci" in str(skipped.value)


def test_an_installed_tool_gives_its_path(monkeypatch):
    monkeypatch.setenv("CI", "true")
    assert vendor_tools.program("python3").endswith("python3")

"""A test needing a missing Debian/npm tool skips with its install command, and fails under CI."""

from __future__ import annotations

import pytest

from tests import tools

MISSING = tools.Tool("followup-no-such-tool", "apt-get install -y followup-no-such-tool")


@pytest.fixture
def missing_tool(monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setitem(tools.TOOLS, MISSING.name, MISSING)
    return MISSING.name


def test_a_missing_tool_skips_naming_the_install_command(monkeypatch, missing_tool):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception) as skipped:
        tools.require(missing_tool)
    assert str(skipped.value) == (
        "followup-no-such-tool is not installed: apt-get install -y followup-no-such-tool"
    )


def test_under_ci_a_missing_tool_fails(monkeypatch, missing_tool):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception) as failed:
        tools.require(missing_tool)
    assert "apt-get install -y followup-no-such-tool" in str(failed.value)


def test_an_installed_tool_gives_its_path(monkeypatch):
    python = tools.Tool("python3", "apt-get install -y python3")
    monkeypatch.setitem(tools.TOOLS, "python3", python)
    monkeypatch.setenv("CI", "true")
    assert tools.require("python3").endswith("python3")

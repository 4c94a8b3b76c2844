"""Debian and npm tools some tests need: a missing one skips with its install command, or fails under CI.

The README's test command must pass on a machine with only Python, so a test that needs Chromium,
PHP, PHPUnit or Node skips with a one-line reason naming the command that installs it; under CI
(`CI=true`, where `.ci/run` installs them all) a missing tool fails instead, so CI proves every test ran.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.factories import CHROMIUM


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    install: str
    path: str | None = None  # a fixed location, when tests launch it from there

    def find(self) -> str | None:
        if self.path is not None:
            return self.path if Path(self.path).is_file() else None
        return shutil.which(self.name)


TOOLS = {
    tool.name: tool
    for tool in (
        Tool("chromium", "apt-get install -y chromium", path=CHROMIUM),
        Tool("php", "apt-get install -y php-cli"),
        Tool("phpunit", "apt-get install -y phpunit"),
        Tool("node", "apt-get install -y nodejs"),
    )
}


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def require(name: str) -> str:
    """The tool's path; otherwise skip the test (fail it under CI) saying how to install it."""
    tool = TOOLS[name]
    found = tool.find()
    if found is not None:
        return found
    reason = f"{tool.name} is not installed: {tool.install}"
    if under_ci():
        pytest.fail(f"{reason} (CI must run every test; .ci/run installs it)", pytrace=False)
    pytest.skip(reason)


def require_for(item: pytest.Item) -> None:
    """Browser tests need Chromium; `needs_tool("php", ...)` names any other tool a test runs."""
    if item.get_closest_marker("browser"):
        require("chromium")
    for marker in item.iter_markers("needs_tool"):
        for name in marker.args:
            require(name)

"""The vendors' own tools the suite runs (npm packages, Debian programs): where they are, and what a missing one means.

The README's test command must pass on a machine with only Python, so a test needing a tool the
machine lacks skips with a one-line reason naming the command that installs it; under CI (`CI=true`,
where `.ci/run` installs everything) a missing tool fails instead, so CI proves every test ran.
Browser tests say what they need with `pytest.mark.browser` (Chromium), others with
`pytest.mark.needs_tool("php", ...)`, or by calling `program()` / `npm_package()` where they run it.
`.ci/run` installs tests/tools/package.json into a cache keyed by its lockfile and exports
FOLLOWUP_VENDOR_TOOLS; locally `cd tests/tools && npm ci` does the same.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

from tests.factories import CHROMIUM

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = Path(
    os.environ.get("FOLLOWUP_VENDOR_TOOLS") or ROOT / "tests" / "tools" / "node_modules"
)

# What installs each program the suite runs (Debian package names, as .ci/run installs them).
INSTALL = {
    "chromium": "apt-get install -y chromium",
    "php": "apt-get install -y php-cli",
    "phpunit": "apt-get install -y phpunit",
    "node": "apt-get install -y nodejs",
    "mariadb": "apt-get install -y mariadb-server",
    "mariadbd": "apt-get install -y mariadb-server",
    "mariadb-install-db": "apt-get install -y mariadb-server",
}
FIXED_PATHS = {"chromium": CHROMIUM}  # launched from there by Playwright, never a downloaded one


def under_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def missing(reason: str) -> NoReturn:
    if under_ci():
        pytest.fail(f"{reason} (CI must run every test; .ci/run installs it)", pytrace=False)
    pytest.skip(reason)


def npm_package(name: str) -> Path:
    """The installed package's folder, e.g. npm_package("@shopify/cli")."""
    path = NODE_MODULES / name
    if not (path / "package.json").exists():
        missing(f"npm package {name} is not installed: cd tests/tools && npm ci")
    return path


def program(name: str) -> str:
    """The program's path; otherwise skip the test (fail it under CI) saying how to install it."""
    fixed = FIXED_PATHS.get(name)
    if fixed is not None:
        found = fixed if Path(fixed).is_file() else None
    else:
        sbin = Path(f"/usr/sbin/{name}")
        found = shutil.which(name) or (str(sbin) if sbin.exists() else None)
    if found is None:
        install = INSTALL.get(name, "see the Debian packages in .ci/run")
        missing(f"{name} is not installed: {install}")
    return found


def require_for(item: pytest.Item) -> None:
    """Before a test runs: browser tests need Chromium, `needs_tool(...)` names any other program."""
    if item.get_closest_marker("browser"):
        program("chromium")
    for marker in item.iter_markers("needs_tool"):
        for name in marker.args:
            program(name)


def offline_prefix() -> list[str]:
    """`unshare -n` when we may use it: the command then runs with no network at all."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []

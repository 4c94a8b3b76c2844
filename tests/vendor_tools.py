"""The vendors' own tools the suite runs (npm packages, Debian programs): where they are, and what a missing one means.

`.ci/run` installs tests/tools/package.json into a cache keyed by its lockfile and exports
FOLLOWUP_VENDOR_TOOLS; locally `cd tests/tools && npm ci` does the same. A missing tool skips its
tests with the reason on a developer's machine and fails them under CI=true.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import NoReturn

import pytest

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = Path(
    os.environ.get("FOLLOWUP_VENDOR_TOOLS") or ROOT / "tests" / "tools" / "node_modules"
)


def missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason} (.ci/run installs it)")
    pytest.skip(reason)


def npm_package(name: str) -> Path:
    """The installed package's folder, e.g. npm_package("@shopify/cli")."""
    path = NODE_MODULES / name
    if not (path / "package.json").exists():
        missing(f"npm package {name} is not installed: cd tests/tools && npm ci")
    return path


def program(name: str) -> str:
    path = shutil.which(name) or (
        f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else None
    )
    if path is None:
        missing(f"{name} is not installed (Debian package; see .ci/run)")
    return path


def offline_prefix() -> list[str]:
    """`unshare -n` when we may use it: the command then runs with no network at all."""
    unshare = shutil.which("unshare")
    if unshare and subprocess.run([unshare, "-n", "true"], capture_output=True).returncode == 0:
        return [unshare, "-n"]
    return []

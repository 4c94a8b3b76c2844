"""Helpers for the WooCommerce plugin tests: where the plugin lives and how to run its PHP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import subprocess
import time
from pathlib import Path
from typing import Any

from app.config import Settings
from app.core.redis import QUEUE
from app.worker import build_worker
from tests.vendor_tools import program

PLUGIN = (
    Path(__file__).resolve().parents[2] / "plugins" / "woocommerce" / "followup-for-woocommerce"
)


def php_request(mode: str, store_id: int, secret: str, arg: str = "") -> dict[str, Any]:
    """Build a signed request with the plugin's own PHP classes (see tests/contract/sign.php)."""
    script = PLUGIN / "tests" / "contract" / "sign.php"
    result = subprocess.run(
        [program("php"), str(script), mode, "https://app.example.com", str(store_id), secret, arg],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout)


def run_jobs(settings: Settings) -> Any:
    """Run every job due now, then stop; unlike a burst worker, deferred jobs do not keep it alive.

    (arq's burst mode waits while any job is queued, including abandonment checks deferred by
    the store's threshold, so a checkout with recent activity would never let it return.)
    """

    async def run() -> int:
        worker = build_worker(settings, manage_db=False, burst=False, cron_jobs=[], poll_delay=0.05)
        runner = asyncio.create_task(worker.async_run())
        try:
            for _ in range(400):
                await asyncio.sleep(0.05)
                if worker.pool is None:
                    continue
                due = await worker.pool.zcount(QUEUE, "-inf", time.time() * 1000)
                busy = any(not task.done() for task in worker.tasks.values())
                if due == 0 and not busy:
                    break
        finally:
            runner.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await runner
            await worker.close()
        return worker.jobs_complete

    return run


def assert_php_lints(root: Path, at_least: int) -> None:
    """`php -l` on every PHP file of a plugin or module (at least `at_least` of them)."""
    php = program("php")
    files = sorted(root.rglob("*.php"))
    assert len(files) >= at_least
    failures = []
    for path in files:
        result = subprocess.run([php, "-l", str(path)], capture_output=True, text=True, check=False)
        if result.returncode != 0:
            failures.append(result.stdout + result.stderr)
    assert not failures, "\n".join(failures)


def assert_phpunit_passes(root: Path) -> None:
    """The PHPUnit suite configured in `root/phpunit.xml.dist` runs green."""
    result = subprocess.run(
        [program("phpunit"), "--configuration", str(root / "phpunit.xml.dist")],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "OK (" in result.stdout

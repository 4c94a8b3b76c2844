"""Our WooCommerce plugin's signed routes (coupons, products) served by PHP's built-in server over
the plugin's real code.

WooCommerce itself cannot run here, so WC_Coupon and the REST plumbing come from the plugin's test
shim; the signature check, validation, idempotency and answer are the plugin's own PHP.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

PLUGIN = (
    Path(__file__).resolve().parents[2] / "plugins" / "woocommerce" / "followup-for-woocommerce"
)
ROUTER = PLUGIN / "tests" / "contract" / "coupon-server.php"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PhpCouponPlugin:
    """`php -S` on a loopback port; `coupons()` reads what the plugin created."""

    def __init__(self, secret: str) -> None:
        self.secret = secret
        self.port = _free_port()
        self._dir = tempfile.mkdtemp(prefix="followup-coupons-")
        self.state = Path(self._dir) / "coupons.json"
        self.catalogue = Path(self._dir) / "products.json"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def site(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> PhpCouponPlugin:
        php = shutil.which("php")
        if php is None:
            raise RuntimeError("php is not installed: apt-get install php-cli (CI does this)")
        env = os.environ | {
            "FOLLOWUP_COUPON_SECRET": self.secret,
            "FOLLOWUP_COUPON_STATE": str(self.state),
            "FOLLOWUP_PRODUCTS_STATE": str(self.catalogue),
        }
        self._process = subprocess.Popen(
            [php, "-S", f"127.0.0.1:{self.port}", str(ROUTER)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        self.stop()
        raise RuntimeError("php -S did not start")

    def set_products(self, products: dict[int, dict[str, Any]]) -> None:
        """The shop's catalogue (id -> name, price, regular_price, in_stock, stock_quantity)."""
        self.catalogue.write_text(json.dumps({str(k): v for k, v in products.items()}))

    def requests(self, route: str | None = None) -> list[str]:
        """The routes asked so far, in order (every request, signed or not)."""
        log = Path(f"{self.state}.requests")
        seen = (
            [json.loads(line)["route"] for line in log.read_text().splitlines()]
            if log.exists()
            else []
        )
        return [r for r in seen if route is None or r == route]

    def coupons(self) -> list[dict[str, Any]]:
        """Every stored coupon: its props (code, usage_limit, ...) with `id` and `meta`."""
        if not self.state.exists():
            return []
        stored = json.loads(self.state.read_text() or "{}")
        if not isinstance(stored, dict):  # PHP encodes an empty store as []
            return []
        return [
            {"id": int(k), **v["props"], "meta": v["meta"]}
            for k, v in sorted(stored.items(), key=lambda kv: int(kv[0]))
        ]

    def stop(self) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(timeout=10)
            self._process = None
        shutil.rmtree(self._dir, ignore_errors=True)

"""A real WordPress for the plugin tests: private MariaDB, a @wp-playground/wordpress-builds build, `php -S`."""

from __future__ import annotations

import contextlib
import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.vendor_tools import npm_package, program

ROOT = Path(__file__).resolve().parents[2]
PLUGIN = ROOT / "plugins" / "woocommerce" / "followup-for-woocommerce"
HERE = Path(__file__).resolve().parent
PLUGIN_FILE = "followup-for-woocommerce/followup-for-woocommerce.php"
ADMIN_PASSWORD = "admin-password-1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for(check, what: str, timeout: float = 20.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not come up within {timeout:.0f} s")


class MariaDB:
    """Its own server on a private socket (no TCP), in a temporary data dir, stopped at the end."""

    def __init__(self) -> None:
        # Short path: a unix socket path must fit in 108 bytes.
        self.dir = Path(tempfile.mkdtemp(prefix="fu-mariadb-"))
        self.socket = self.dir / "mysqld.sock"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> MariaDB:
        subprocess.run(
            [
                program("mariadb-install-db"),
                "--no-defaults",
                f"--datadir={self.dir / 'data'}",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
                "--user=root",
            ],
            check=True,
            capture_output=True,
            timeout=120,
        )
        self.process = subprocess.Popen(
            [
                program("mariadbd"),
                "--no-defaults",
                f"--datadir={self.dir / 'data'}",
                f"--socket={self.socket}",
                f"--pid-file={self.dir / 'mariadb.pid'}",
                f"--log-error={self.dir / 'error.log'}",
                "--skip-networking",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=16M",
                "--user=root",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(lambda: self.socket.exists(), "MariaDB")
        return self

    def create_database(self, name: str) -> None:
        subprocess.run(
            [program("mariadb"), "--no-defaults", f"--socket={self.socket}", "-uroot"],
            input=f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4;".encode(),
            check=True,
            capture_output=True,
            timeout=30,
        )

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
        shutil.rmtree(self.dir, ignore_errors=True)


def builds() -> dict[str, str]:
    """Build name (6.2 … 6.5, beta, nightly) to WordPress version, from the package's own list."""
    folder = npm_package("@wp-playground/wordpress-builds") / "src" / "wordpress"
    return json.loads((folder / "wp-versions.json").read_text())


def oldest_and_newest() -> list[str]:
    numbered = sorted((b for b in builds() if re.fullmatch(r"\d+\.\d+", b)), key=_version_key)
    return [numbered[0], numbered[-1]]


def _version_key(build: str) -> tuple[int, ...]:
    return tuple(int(p) for p in build.split("."))


@dataclass
class WordPress:
    """One site: files in `root`, database `db` on the shared MariaDB, served on `url` by `php -S`."""

    build: str
    root: Path
    mariadb: MariaDB
    db: str
    with_woocommerce: bool
    port: int = field(default_factory=_free_port)
    server: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def install(self) -> WordPress:
        archive = npm_package("@wp-playground/wordpress-builds") / "src" / "wordpress"
        with zipfile.ZipFile(archive / f"wp-{self.build}.zip") as zipped:
            zipped.extractall(self.root)
        self._write_config()
        self.mariadb.create_database(self.db)
        plugins = self.root / "wp-content" / "plugins"
        # A copy, never a link: uninstalling may delete the plugin's folder.
        shutil.copytree(PLUGIN, plugins / "followup-for-woocommerce")
        if self.with_woocommerce:
            shutil.copytree(HERE / "woocommerce", plugins / "woocommerce")
        self.php("install")
        if self.with_woocommerce:
            self.php("activate", "woocommerce/woocommerce.php")
        return self

    def _write_config(self) -> None:
        config = (HERE / "wp-config.php.tpl").read_text()
        values = {
            "DB_NAME": self.db,
            "DB_HOST": f"localhost:{self.mariadb.socket}",
            "URL": self.url,
        }
        for key, value in values.items():
            config = config.replace("{{" + key + "}}", value)
        (self.root / "wp-config.php").write_text(config)

    def serve(self) -> WordPress:
        self.server = subprocess.Popen(
            [program("php"), "-S", f"127.0.0.1:{self.port}", "-t", str(self.root)],
            cwd=self.root,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        _wait_for(self._answers, f"WordPress {self.build} on {self.url}")
        return self

    def _answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/wp-login.php", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    def stop(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(timeout=10)

    def php(self, command: str, *args: str) -> dict:  # type: ignore[type-arg]
        """Run one command of tests/wordpress/wp-run.php inside this WordPress; its JSON answer."""
        done = subprocess.run(
            [program("php"), str(HERE / "wp-run.php"), str(self.root), command, *args],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"wp-run {command}: {done.stdout}{done.stderr}"
        return json.loads(done.stdout.strip().splitlines()[-1])

    def debug_log(self) -> str:
        log = self.root / "wp-content" / "debug.log"
        return log.read_text() if log.exists() else ""

    @contextlib.contextmanager
    def admin(self) -> Iterator[httpx.Client]:
        """An httpx client logged in as the administrator through wp-login.php."""
        with httpx.Client(base_url=self.url, timeout=30, follow_redirects=True) as client:
            self._log_in(client)
            yield client

    def _log_in(self, client: httpx.Client) -> None:
        client.cookies.set("wordpress_test_cookie", "WP Cookie check")
        response = client.post(
            "/wp-login.php",
            data={
                "log": "admin",
                "pwd": ADMIN_PASSWORD,
                "wp-submit": "Log In",
                "redirect_to": f"{self.url}/wp-admin/",
                "testcookie": "1",
            },
        )
        assert "wp-admin" in str(response.url) and response.status_code == 200, response.text[:500]

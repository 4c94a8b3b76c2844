"""Shopify's own tools on our app: `shopify app build` validates the app and builds the pixel offline,
and TypeScript checks every pixel field we read against @shopify/web-pixels-extension's types."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from app.checkouts.models import Checkout
from tests.factories import make_store
from tests.shopify.conftest import SHOP
from tests.vendor_tools import NODE_MODULES, npm_package, offline_prefix, program

ROOT = Path(__file__).resolve().parents[2]
PIXEL = "extensions/followup-pixel"


@pytest.fixture
def app_copy(tmp_path: Path) -> Path:
    """A copy of shopify_extension/ that sees the cached node_modules, as `npm install` would."""
    npm_package("@shopify/web-pixels-extension")
    copy = tmp_path / "shopify_extension"
    shutil.copytree(ROOT / "shopify_extension", copy, ignore=shutil.ignore_patterns("dist"))
    (tmp_path / "node_modules").symlink_to(NODE_MODULES)
    return copy


def _shopify(app: Path, *args: str) -> subprocess.CompletedProcess[str]:
    cli = npm_package("@shopify/cli") / "bin" / "run.js"
    env = {**os.environ, "SHOPIFY_CLI_NO_ANALYTICS": "1", "CI": "1", "NO_COLOR": "1"}
    return subprocess.run(
        [*offline_prefix(), program("node"), str(cli), *args, "--path", str(app)],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def _build(app: Path) -> subprocess.CompletedProcess[str]:
    return _shopify(app, "app", "build", "--skip-dependencies-installation")


def _tsc(app: Path) -> subprocess.CompletedProcess[str]:
    tsc = npm_package("typescript") / "bin" / "tsc"
    return subprocess.run(
        [
            program("node"),
            str(tsc),
            "-p",
            str(app / PIXEL / "tsconfig.json"),
            "--noEmit",
            "--strict",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_shopify_app_build_validates_the_app_and_bundles_the_pixel(
    app_copy, client, run_jobs
):
    built = _build(app_copy)
    assert built.returncode == 0, built.stdout + built.stderr
    assert "followup-chat" in built.stdout  # the chat's theme app embed passed theme check too
    bundle = app_copy / PIXEL / "dist" / "followup-pixel.js"
    assert bundle.exists(), built.stdout

    # The bundle Shopify built, run as Shopify's runtime runs it, posts what /collect accepts from
    # the strict sandbox (Origin: null).
    store = (await make_store("shopify", domain=SHOP)).store
    proc = await asyncio.create_subprocess_exec(
        program("node"),
        str(ROOT / "shopify_extension" / PIXEL / "test" / "bundle.mjs"),
        str(bundle),
        "https://app.example.com/collect/v1/events",
        store.publishable_key,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode == 0, err.decode()
    posts = [json.loads(line) for line in out.decode().splitlines()]
    assert [p["body"]["event"] for p in posts] == [
        "Checkout Started",
        "Checkout Step Completed",
        "Checkout Step Completed",
    ]
    for post in posts:
        url = urlsplit(post["url"])
        response = await client.post(
            f"{url.path}?{url.query}",
            content=json.dumps(post["body"]),
            headers={"Content-Type": post["contentType"], "Origin": "null"},
        )
        assert response.status_code == 202, response.text
    await run_jobs()
    checkout = await Checkout.get(store=store)
    assert checkout.email == "maya.okafor@example.com" and checkout.phone == "+14155550173"


def test_shopify_app_build_refuses_an_invalid_app_toml(app_copy):
    toml = app_copy / "shopify.app.toml"
    toml.write_text(toml.read_text().replace("embedded = true", 'embedded = "yes"'))
    built = _build(app_copy)
    assert built.returncode != 0
    assert "embedded" in built.stdout + built.stderr


def test_pixel_field_use_type_checks_strictly_against_shopify_types(app_copy):
    checked = _tsc(app_copy)
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_field_shopify_does_not_have_fails_the_type_check(app_copy):
    events = app_copy / PIXEL / "src" / "events.js"
    events.write_text(events.read_text().replace("checkout.smsMarketingPhone", "checkout.smsPhone"))
    checked = _tsc(app_copy)
    assert checked.returncode != 0
    assert "Property 'smsPhone' does not exist on type 'Checkout'" in checked.stdout


def test_the_chat_embed_block_loads_the_same_snippet_with_escaped_settings() -> None:
    block = (ROOT / "shopify_extension/extensions/followup-chat/blocks/chat.liquid").read_text()
    schema = json.loads(block.split("{% schema %}")[1].split("{% endschema %}")[0])
    assert schema["target"] == "body"  # an app embed, on every storefront page
    assert {s["id"] for s in schema["settings"]} == {"app_url", "publishable_key"}
    assert "/static/followup.js" in block and "chat.js" not in block  # the snippet loads it
    for setting in ("app_url", "publishable_key"):
        uses = block.count(f"block.settings.{setting} |")
        assert uses and uses == block.count(f"block.settings.{setting} | escape"), setting

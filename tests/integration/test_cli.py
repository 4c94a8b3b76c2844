"""The `followup` command as an operator types it: store creation, agent creation, replay."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.checkouts.models import Checkout
from app.ingest.models import RawEvent, RawStatus
from app.stores.models import Store
from app.stores.services import store_for_api_token
from tests.conftest import TEST_ENV
from tests.factories import fresh_shopify_checkout, make_store

ROOT = Path(__file__).resolve().parents[2]


def followup(*argv: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, **TEST_ENV, "FOLLOWUP_DATA_DIR": str(ROOT / ".data-test")}
    return subprocess.run(
        [sys.executable, "-m", "app.cli", *argv],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


async def test_store_create_prints_credentials_once_and_stores_only_digests(settings):
    result = followup(
        "store",
        "create",
        "--platform",
        "woocommerce",
        "--domain",
        "https://Shop.Example.com/",
        "--name",
        "Tidewater Teas",
        "--abandon-after",
        "600",
        "--sms-number",
        "+1 (415) 555-0100",
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert {"id", "api_token", "publishable_key", "webhook_secret", "webhook_url"} <= data.keys()
    store = await Store.get(id=data["id"])
    assert (store.domain, store.abandon_after_seconds, store.sms_number) == (
        "shop.example.com",
        600,
        "+14155550100",
    )
    assert await store_for_api_token(data["api_token"]) is not None
    assert data["api_token"] not in json.dumps(
        await Store.filter(id=data["id"]).values(), default=str
    )
    assert store.webhook_secret == data["webhook_secret"]


async def test_store_create_for_magento_prints_the_modules_settings(settings):
    result = followup("store", "create", "--platform", "magento", "--domain", "shop.example.com")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["platform"] == "magento" and data["webhook_secret"].startswith("whsec_")
    assert data["webhook_url"] == f"{settings.server.public_url}/webhooks/magento/{data['id']}"
    assert (await Store.get(id=data["id"])).webhook_secret == data["webhook_secret"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--platform", "custom", "--domain", "a b"], "invalid domain"),
        (
            ["--platform", "custom", "--domain", "x.example", "--sms-number", "12"],
            "invalid SMS number",
        ),
        (
            ["--platform", "custom", "--domain", "x.example", "--abandon-after", "5"],
            "between 60 seconds",
        ),
        (["--platform", "prestashop", "--domain", "x.example"], "Invalid value for '--platform'"),
    ],
)
async def test_store_create_refuses_bad_input_with_a_reason(settings, argv, message):
    result = followup("store", "create", *argv)
    assert result.returncode != 0 and message in result.stderr
    assert await Store.all().count() == 0


async def test_agent_create_with_password_and_with_invitation(settings):
    issued = await make_store("custom")
    result = followup(
        "agent",
        "create",
        "--store",
        str(issued.store.id),
        "--email",
        "lee@shop.example",
        "--role",
        "admin",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert result.returncode == 0, result.stderr
    assert "invite_url" not in result.stdout
    invited = json.loads(
        followup(
            "agent", "create", "--store", str(issued.store.id), "--email", "kim@shop.example"
        ).stdout
    )
    assert invited["invite_url"].startswith("https://app.example.com/invite/inv_")
    duplicate = followup(
        "agent", "create", "--store", str(issued.store.id), "--email", "kim@shop.example"
    )
    assert duplicate.returncode != 0 and "already exists" in duplicate.stderr


async def test_reprocess_replays_failed_events(settings):
    issued = await make_store("shopify")
    body = fresh_shopify_checkout().decode()
    await RawEvent.create(
        store=issued.store,
        source="shopify",
        topic="checkouts/update",
        delivery_id="d1",
        body=body,
        status=RawStatus.FAILED,
        error="simulated outage",
    )
    result = followup("reprocess", "--status", "failed")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1]) == {"processed": 1}
    assert (await RawEvent.get()).status == RawStatus.PROCESSED
    assert await Checkout.filter(store=issued.store).count() == 1
    again = followup("reprocess", "--status", "processed")
    assert again.returncode == 0 and await Checkout.filter(store=issued.store).count() == 1

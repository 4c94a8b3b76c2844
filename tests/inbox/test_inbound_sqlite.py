"""The inbound path on the embedded SQLite database (`followup dev`), in a process of its own."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import REDIS_URL

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = """
import asyncio, json
from app.config import load_settings, use_settings

async def main(data_dir, redis_url):
    settings = load_settings({"FOLLOWUP_DATA_DIR": data_dir, "FOLLOWUP_REDIS_URL": redis_url,
                              "FOLLOWUP_SECRET_KEY": "sqlite-test-secret-0123456789abcdefghijklmnop"})
    use_settings(settings)
    from app.core.db import close_db, init_db, migrate
    await migrate(settings)
    await init_db(settings)
    from redis.asyncio import Redis
    from app.checkouts.models import ConsentEvent, Contact
    from app.messaging.models import Message
    from app.stores.models import Platform
    from app.stores.services import create_store
    from inbox.inbound import receive_sms
    from inbox.models import Conversation
    from inbox.schemas import InboundSms
    await create_store(platform=Platform.CUSTOM, domain="a.example", sms_number="+12125550199")
    redis = Redis.from_url(redis_url)
    dup = []
    for sid, body in [("SM1", "hi"), ("SM2", "again"), ("SM2", "again"), ("SM3", "STOP")]:
        sms = InboundSms(sid, "+14155550173", "+12125550199", body, (), 1)
        dup.append((await receive_sms(sms, settings, redis, None)).duplicate)
    conv = await Conversation.get()
    print(json.dumps({"duplicates": dup, "contacts": await Contact.all().count(),
                      "messages": await Message.all().count(), "inbound": conv.inbound_count,
                      "consent": await ConsentEvent.all().count(),
                      "opted_out": (await Contact.get()).sms_opted_out_at is not None}))
    await redis.aclose()
    await close_db()

import sys
asyncio.run(main(sys.argv[1], sys.argv[2]))
"""


def test_first_text_thread_dedup_and_stop_work_on_sqlite(tmp_path):
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(tmp_path), REDIS_URL],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result == {
        "duplicates": [False, False, True, False],
        "contacts": 1,
        "messages": 3,
        "inbound": 3,
        "consent": 1,
        "opted_out": True,
    }

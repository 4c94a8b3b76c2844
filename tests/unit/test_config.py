"""Settings are validated at start with a message that names the variable and the fix."""

from __future__ import annotations

import pytest

from app.config import (
    DOCUMENTED,
    ConfigError,
    InboxSettings,
    RecoverySettings,
    load_settings,
)


def test_embedded_defaults_generate_and_keep_a_secret(tmp_path):
    env = {"FOLLOWUP_DATA_DIR": str(tmp_path)}
    first, second = load_settings(env), load_settings(env)
    assert first.database.embedded and first.database.url.startswith("sqlite://")
    assert first.redis.url is None
    assert (
        first.server.secret_key == second.server.secret_key and len(first.server.secret_key) >= 32
    )


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"FOLLOWUP_PORT": "eighty"}, "FOLLOWUP_PORT='eighty' is not a whole number"),
        ({"FOLLOWUP_PORT": "70000"}, "FOLLOWUP_PORT=70000 must be between 1 and 65535"),
        (
            {"FOLLOWUP_DATABASE_URL": "mysql://x"},
            "FOLLOWUP_DATABASE_URL='mysql://x' must start with",
        ),
        ({"FOLLOWUP_DATABASE_URL": "postgres://db/app"}, "FOLLOWUP_SECRET_KEY is required"),
        ({"FOLLOWUP_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"FOLLOWUP_LOG_LEVEL": "LOUD"}, "FOLLOWUP_LOG_LEVEL='LOUD'"),
        ({"FOLLOWUP_REDIS_URL": "http://x"}, "FOLLOWUP_REDIS_URL"),
    ],
)
def test_bad_values_are_refused_with_a_precise_message(tmp_path, env, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("?", r"\?")):
        load_settings({"FOLLOWUP_DATA_DIR": str(tmp_path), **env})


def test_defaults_come_from_one_table(tmp_path):
    """The dataclass defaults, load_settings and the README table all read SETTINGS."""
    loaded = load_settings({"FOLLOWUP_DATA_DIR": str(tmp_path)})
    assert loaded.recovery == RecoverySettings() and loaded.inbox == InboxSettings()
    assert (loaded.server.port, loaded.server.host, loaded.server.log_level) == (
        8000,
        "127.0.0.1",
        "INFO",
    )
    assert (loaded.shopify.api_version, loaded.shopify.import_max_age_hours) == ("2026-01", 48)
    assert (loaded.recovery.sms_per_second, loaded.recovery.email_per_second) == (1, 20)
    assert loaded.capture.collect_rate_per_minute == 600
    assert loaded.email.default_from == "FollowUp <no-reply@localhost>"
    shown = {name: default for name, default, _ in DOCUMENTED}
    assert (shown["SMS_RATE_PER_SECOND"], shown["PORT"]) == ("1", "8000")


def test_followup_dev_links_follow_its_port_unless_a_public_url_is_set(tmp_path):
    from app.config import get_settings, use_settings
    from app.dev.server import dev_settings

    try:
        default = load_settings({"FOLLOWUP_DATA_DIR": str(tmp_path)})
        moved = dev_settings(default, "127.0.0.1", 8123)
        assert moved.server.public_url == "http://127.0.0.1:8123"
        assert get_settings().server.public_url == "http://127.0.0.1:8123"
        chosen = load_settings(
            {"FOLLOWUP_DATA_DIR": str(tmp_path), "FOLLOWUP_PUBLIC_URL": "https://shop.example"}
        )
        assert dev_settings(chosen, "127.0.0.1", 8123) is chosen
    finally:
        use_settings(None)

"""Chat business hours and message checks: pure rules, no database."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from app.stores.chat import ChatSettings, availability, settings_from
from inbox.chat_rules import MAX_SHOPPER_BODY, check_body

WEEKDAYS = ChatSettings(enabled=True, start=time(9), end=time(17))


@pytest.mark.parametrize(
    ("now", "open_", "back"),
    [
        # Wednesday 2026-12-02, New York is UTC-5
        (datetime(2026, 12, 2, 14, 0, tzinfo=UTC), True, None),  # 09:00 local: open
        (
            datetime(2026, 12, 2, 13, 59, tzinfo=UTC),
            False,
            datetime(2026, 12, 2, 14, 0, tzinfo=UTC),
        ),
        (datetime(2026, 12, 2, 22, 0, tzinfo=UTC), False, datetime(2026, 12, 3, 14, 0, tzinfo=UTC)),
        # Friday 17:00 local: closed until Monday 09:00
        (datetime(2026, 12, 4, 22, 0, tzinfo=UTC), False, datetime(2026, 12, 7, 14, 0, tzinfo=UTC)),
        # Saturday noon
        (datetime(2026, 12, 5, 17, 0, tzinfo=UTC), False, datetime(2026, 12, 7, 14, 0, tzinfo=UTC)),
    ],
)
def test_weekday_hours_in_the_stores_zone(now, open_, back):
    found = availability(now, WEEKDAYS, "America/New_York")
    assert (found.open, found.back_at) == (open_, back)


def test_weekends_and_defaults_and_bad_values():
    assert availability(
        datetime(2026, 12, 5, 17, tzinfo=UTC),
        settings_from({"enabled": True, "weekends": True}),
        "America/New_York",
    ).open
    chat = settings_from({"start": "25:00", "end": "nope", "greeting": "x" * 500})
    assert (chat.enabled, chat.start, chat.end, len(chat.greeting)) == (
        False,
        time(9),
        time(17),
        200,
    )
    assert availability(datetime(2026, 12, 2, 12, tzinfo=UTC), WEEKDAYS, "Not/AZone").open


def test_message_bodies():
    assert check_body("  hi  ") == "hi"
    assert check_body("") is None and check_body("   ") is None and check_body(5) is None
    assert check_body("x" * MAX_SHOPPER_BODY) and check_body("x" * (MAX_SHOPPER_BODY + 1)) is None


@pytest.mark.parametrize(
    ("raw", "seconds"),
    [
        (None, 0),
        (45, 45),
        ("30", 30),
        (0, 0),
        (3600, 3600),
        (3601, 0),
        (-5, 0),
        ("soon", 0),
        (True, 0),
        (2.5, 0),
    ],
)
def test_the_idle_invitation_time_is_a_whole_number_of_seconds_up_to_an_hour(raw, seconds):
    assert settings_from({"invite_idle_seconds": raw}).invite_idle_seconds == seconds

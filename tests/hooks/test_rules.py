"""Retry rules and target checks: pure, no database."""

from __future__ import annotations

from datetime import timedelta

import pytest

from app.hooks import rules, targets


def test_the_schedule_spans_about_a_day_then_stops() -> None:
    delays = [rules.next_delay(n, jitter=0.0) for n in range(1, rules.MAX_ATTEMPTS)]
    assert delays[0] == timedelta(seconds=5) and all(d is not None for d in delays)
    total = sum((d for d in delays if d), timedelta())
    assert timedelta(hours=22) <= total <= timedelta(hours=25)
    assert rules.next_delay(rules.MAX_ATTEMPTS) is None


def test_jitter_is_at_most_ten_percent_and_retry_after_can_only_lengthen() -> None:
    assert rules.next_delay(1, jitter=1.0) == timedelta(seconds=5.5)
    assert rules.next_delay(1, retry_after=120, jitter=0.0) == timedelta(seconds=120)
    assert rules.next_delay(3, retry_after=1, jitter=0.0) == timedelta(minutes=30)
    assert rules.next_delay(1, retry_after=10**9, jitter=0.0) == timedelta(days=1)


@pytest.mark.parametrize(
    "url",
    [
        "",
        "example.com/x",
        "javascript:alert(1)",
        "http://",
        "https://a:b@x.example/",
        "http://x:port/",
    ],
)
def test_malformed_targets_are_refused(url: str) -> None:
    with pytest.raises(targets.TargetRefused):
        targets.check_shape(url)


async def test_allowed_private_targets_pass_and_public_names_resolve() -> None:
    assert await targets.check_target("http://127.0.0.1:9/x", allow_private=True)
    with pytest.raises(targets.TargetRefused, match="does not resolve"):
        await targets.check_target("https://no-such-host.invalid/", allow_private=False)

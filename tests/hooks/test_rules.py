"""Retry rules and target checks: pure, no database."""

from __future__ import annotations

import asyncio
import socket
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


async def test_a_checked_target_is_pinned_to_the_address_that_was_checked(monkeypatch) -> None:
    """DNS rebinding: the name may answer differently at connection time; we connect to the
    address we checked and still speak to (and verify TLS for) the name."""
    loop = asyncio.get_running_loop()
    answers = {"hooks.example.com": "93.184.216.34", "v6.example.com": "2606:2800:220:1::1"}

    async def getaddrinfo(host, port, **kwargs):
        family = socket.AF_INET6 if ":" in answers[host] else socket.AF_INET
        return [(family, socket.SOCK_STREAM, 6, "", (answers[host], port))]

    monkeypatch.setattr(loop, "getaddrinfo", getaddrinfo)
    pinned = await targets.pin_target("https://hooks.example.com/in?x=1", allow_private=False)
    assert pinned == targets.Pinned(
        "https://93.184.216.34/in?x=1", "hooks.example.com", "hooks.example.com"
    )
    pinned = await targets.pin_target("http://v6.example.com:8080/in", allow_private=False)
    assert pinned == targets.Pinned("http://[2606:2800:220:1::1]:8080/in", "v6.example.com:8080")

    answers["hooks.example.com"] = "10.0.0.7"  # the name now points inside: refused
    with pytest.raises(targets.TargetRefused, match="private"):
        await targets.pin_target("https://hooks.example.com/in", allow_private=False)

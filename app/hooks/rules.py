"""Retry rules for webhook deliveries: pure functions of the attempt count and the answer."""

from __future__ import annotations

import random
from datetime import timedelta

# After attempt n fails, the next waits RETRY_DELAYS[n-1]: about 23.6 hours in all, so a
# receiver that is down for most of a day still gets every event (the spec's example schedule,
# cut to a day).
RETRY_DELAYS: tuple[timedelta, ...] = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=6),
)
MAX_ATTEMPTS = len(RETRY_DELAYS) + 1
# A subscription whose every attempt failed this many times in a row (a whole retry schedule)
# is disabled; a success anywhere resets the run.
DISABLE_AFTER_FAILURES = MAX_ATTEMPTS
GONE = 410


def next_delay(
    attempts: int, retry_after: float | None = None, jitter: float | None = None
) -> timedelta | None:
    """How long to wait after `attempts` failed attempts; None when the schedule is spent.

    Up to 10 % jitter spreads retries of a recovering receiver; a `Retry-After` (429, 503) is
    honoured when it asks for longer, up to a day.
    """
    if attempts >= MAX_ATTEMPTS:
        return None
    base = RETRY_DELAYS[attempts - 1]
    spread = random.random() if jitter is None else jitter
    delay = base + base * 0.1 * spread
    if retry_after:
        delay = max(delay, timedelta(seconds=min(retry_after, 86_400)))
    return delay

"""What the score model sees of one abandonment, as numbers; pure, shared by training, scoring and bench."""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy loads with the model (worker, bench), never with the web app
    import numpy as np
    from numpy.typing import NDArray

VERSION = 1
NAMES = (
    "log_total",
    "items",
    "lines",
    "mobile",
    "tablet",
    "desktop",
    "returning",
    "hour_sin",
    "hour_cos",
    "sms_consent",
    "email_consent",
    "earlier_abandonments",
)
DEVICES = ("mobile", "tablet", "desktop")


@dataclass(frozen=True, slots=True)
class Example:
    """One abandoned checkout as the model sees it; `hour` is the store's local hour of abandonment,
    consents are those recorded before it, `earlier` counts the contact's earlier abandonments."""

    total: Decimal
    items: int
    lines: int
    device: str
    returning: bool
    hour: int
    sms_consent: bool
    email_consent: bool
    earlier: int


def row(e: Example) -> list[float]:
    angle = 2 * math.pi * (e.hour % 24) / 24
    return [
        math.log1p(max(float(e.total), 0.0)),
        float(min(e.items, 50)),
        float(min(e.lines, 50)),
        *(float(e.device == d) for d in DEVICES),
        float(e.returning),
        math.sin(angle),
        math.cos(angle),
        float(e.sms_consent),
        float(e.email_consent),
        float(min(e.earlier, 10)),
    ]


def matrix(examples: list[Example]) -> NDArray[np.float64]:
    import numpy as np

    return np.array([row(e) for e in examples], dtype=np.float64).reshape(-1, len(NAMES))

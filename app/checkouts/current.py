"""What a store sells a cart's line for right now: our own struct, filled in by the platform
integrations (`app/integrations/<vendor>/fresh.py`) and read by the send path (`app/recovery/fresh.py`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class CurrentLine:
    """What the store says about one variant now, in the store's currency."""

    price: Decimal
    currency: str
    compare_at: Decimal | None = None
    available: bool = True
    inventory: int | None = None

    @classmethod
    def gone(cls, currency: str) -> CurrentLine:
        """A variant the store no longer has: it cannot be bought."""
        return cls(Decimal(0), currency, None, False, 0)

    def dumps(self) -> str:
        return json.dumps(
            [
                str(self.price),
                self.currency,
                str(self.compare_at or ""),
                self.available,
                self.inventory,
            ]
        )

    @classmethod
    def loads(cls, text: str | bytes) -> CurrentLine:
        price, currency, compare_at, available, inventory = json.loads(text)
        return cls(
            Decimal(price),
            currency,
            Decimal(compare_at) if compare_at else None,
            available,
            inventory,
        )

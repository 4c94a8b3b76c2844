"""Who holds personal data: each domain registers how to export and erase its part of a customer."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from tortoise.expressions import Q

from app.core.security import sign_value


@dataclass(frozen=True, slots=True)
class Subject:
    """A customer of one store, named every way the platform told us (any may be empty)."""

    store_id: int
    emails: frozenset[str] = frozenset()
    phones: frozenset[str] = frozenset()
    customer_ids: frozenset[str] = frozenset()
    order_ids: frozenset[str] = frozenset()
    contact_ids: tuple[int, ...] = field(default=())
    """Our Contact rows for this customer, resolved before any eraser or exporter runs."""

    @property
    def values(self) -> frozenset[str]:
        """Strings that identify the person in free text (raw payloads, message bodies)."""
        return self.emails | self.phones | frozenset(p.lstrip("+") for p in self.phones)

    def keys(self) -> list[str]:
        """Keyed digests that find this subject's exports without storing who they are.

        Keyed with the app secret, so a leaked table cannot be reversed by hashing guessed emails.
        """
        return sorted(
            sign_value(v, "privacy-subject") for v in self.emails | self.phones | self.customer_ids
        )


def any_in(**wanted: Collection[Any]) -> Q:
    """Rows where any named field holds one of its values (`any_in(email=..., phone=...)`).

    Empty collections are left out; when all are empty the query matches nothing, never everything.
    """
    query = Q(id=-1)
    for name, values in wanted.items():
        if values:
            lookup: dict[str, Any] = {f"{name}__in": values}
            query |= Q(**lookup)
    return query


Exporter = Callable[[Subject], Awaitable[Any]]
Eraser = Callable[[Subject], Awaitable[int]]
StoreEraser = Callable[[int], Awaitable[int]]

EXPORTERS: dict[str, Exporter] = {}
ERASERS: dict[str, Eraser] = {}
STORE_ERASERS: dict[str, StoreEraser] = {}


def register_exporter(name: str) -> Callable[[Exporter], Exporter]:
    """`name` becomes the section of the export document holding what the function returns."""

    def add(fn: Exporter) -> Exporter:
        EXPORTERS[name] = fn
        return fn

    return add


def register_eraser(name: str) -> Callable[[Eraser], Eraser]:
    """An eraser removes or anonymises the subject's personal data and returns rows touched."""

    def add(fn: Eraser) -> Eraser:
        ERASERS[name] = fn
        return fn

    return add


def register_store_eraser(name: str) -> Callable[[StoreEraser], StoreEraser]:
    """For data not deleted by the Store row's cascade (rows holding a bare store_id)."""

    def add(fn: StoreEraser) -> StoreEraser:
        STORE_ERASERS[name] = fn
        return fn

    return add

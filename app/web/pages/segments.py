"""The segments section of the flows page: saved segments in words, with how many contacts match
each, and the form that creates or edits one (the live count asks `/api/v1/segments/count`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.recovery.models import Segment
from app.recovery.segments import rules, services
from app.stores.models import Store

RANGES = (
    ("orders_count", "orders"),
    ("total_spent", "spent"),
    ("last_order_days", "days"),
)
LISTS = ("tags_any", "tags_all", "tags_none", "countries")
# What a merchant reads instead of the API's field names in a refusal.
FIELD_WORDS = {
    "conditions.orders_count": "Orders",
    "conditions.total_spent": "Total spent",
    "conditions.last_order_days": "Days since the last order",
    "conditions.tags_any": "Has any of these tags",
    "conditions.tags_all": "Has all of these tags",
    "conditions.tags_none": "Has none of these tags",
    "conditions.countries": "Countries",
    "conditions.subscribed": "Subscribed",
    "conditions.rfm_groups": "Customer groups",
    "name": "Name",
}


def conditions_from_form(form: Mapping[str, Any], groups: list[str]) -> dict[str, Any]:
    """The form's fields as API conditions (validated afterwards, like an API call's)."""
    out: dict[str, Any] = {}
    for key, prefix in RANGES:
        bounds = {
            end: str(form.get(f"{prefix}_{end}") or "").strip()
            for end in ("min", "max")
            if str(form.get(f"{prefix}_{end}") or "").strip()
        }
        if bounds:
            out[key] = bounds
    for key in LISTS:
        items = [p.strip() for p in str(form.get(key) or "").split(",") if p.strip()]
        if items:
            out[key] = items
    subscribed = str(form.get("subscribed") or "")
    if subscribed in ("yes", "no"):
        out["subscribed"] = subscribed == "yes"
    if groups:
        out["rfm_groups"] = groups
    return out


def in_words(message: str) -> str:
    """`conditions.total_spent.min: must be …` as "Total spent (at least): must be …"."""
    place, _, reason = message.partition(": ")
    head, _, end = place.rpartition(".") if place.endswith((".min", ".max")) else (place, "", "")
    label = FIELD_WORDS.get(head, head.replace("conditions.", "").replace("_", " "))
    bound = {"min": " (at least)", "max": " (at most)"}.get(end, "")
    return f"{label}{bound}: {reason}" if reason else message


def describe(conditions: Mapping[str, Any], currency: str) -> str:
    """A segment in one line, e.g. "orders 2 to 5 · spent at least 100 EUR · any tag of vip"."""
    parts = [
        _range(conditions.get("orders_count"), "orders", ""),
        _range(conditions.get("total_spent"), "spent", f" {currency}"),
        _range(conditions.get("last_order_days"), "last order", " days ago"),
    ]
    words = {"tags_any": "any tag of", "tags_all": "every tag of", "tags_none": "no tag of"}
    for key, lead in words.items():
        if conditions.get(key):
            parts.append(f"{lead} {', '.join(conditions[key])}")
    if conditions.get("countries"):
        parts.append("in " + ", ".join(conditions["countries"]))
    if "subscribed" in conditions:
        parts.append("subscribed" if conditions["subscribed"] else "not subscribed")
    if conditions.get("rfm_groups"):
        parts.append(", ".join(rules.GROUP_LABELS[g] for g in conditions["rfm_groups"]))
    return " · ".join(p for p in parts if p) or "every contact"


def _range(bounds: Mapping[str, Any] | None, what: str, unit: str) -> str:
    if not bounds:
        return ""
    low, high = bounds.get("min"), bounds.get("max")
    if low is not None and high is not None:
        return f"{what} {low} to {high}{unit}"
    return f"{what} at least {low}{unit}" if low is not None else f"{what} at most {high}{unit}"


@dataclass(frozen=True, slots=True)
class Row:
    id: int
    name: str
    words: str
    matching: int
    used_by: list[str]


async def rows(store: Store) -> list[Row]:
    """Each segment with its live count (one indexed count per segment; at most 100 a store)."""
    found = []
    for segment in await services.list_segments(store):
        conditions = segment.conditions or {}
        found.append(
            Row(
                segment.id,
                segment.name,
                describe(conditions, store.currency),
                await services.count(store, conditions),
                await services.users(segment),
            )
        )
    return found


def form_values(segment: Segment | None, form: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The form's values: what was typed (after a refusal), else the segment's, else empty."""
    if form is not None:
        typed: dict[str, Any] = {k: str(v) for k, v in form.items() if k != "csrf_token"}
        typed["groups"] = [str(g) for g in form.get("groups_list", [])]
        return typed
    if segment is None:
        return {"groups": []}
    c = segment.conditions or {}
    values: dict[str, Any] = {"name": segment.name, "groups": list(c.get("rfm_groups") or [])}
    for key, prefix in RANGES:
        for end in ("min", "max"):
            if key in c and end in c[key]:
                values[f"{prefix}_{end}"] = str(c[key][end])
    for key in LISTS:
        values[key] = ", ".join(c.get(key) or [])
    if "subscribed" in c:
        values["subscribed"] = "yes" if c["subscribed"] else "no"
    return values

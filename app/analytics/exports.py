"""The figures as CSV tables: one download per table on the dashboard, spreadsheet-safe cells."""

from __future__ import annotations

import csv
import io
from typing import Any

import msgspec

from app.analytics.schemas import StatsOut
from app.core.spreadsheet import safe_cell

TABLES = (
    "funnel",
    "attribution",
    "channels",
    "steps",
    "variants",
    "holdout",
    "daily",
    "weekly",
    "top_products",
    "time_to_recovery",
    "conversations",
)
MODELS = ("recovered", "click", "message", "discount", "total")


def rows(table: str, data: StatsOut) -> list[dict[str, Any]]:
    """One table of `data` as rows; attribution gets one row per model."""
    value = msgspec.to_builtins(getattr(data, table))
    if table == "attribution":
        return [{"model": name, **value[name], "currency": value["currency"]} for name in MODELS]
    return value if isinstance(value, list) else [value]


def to_csv(found: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    if not found:
        return ""
    writer = csv.DictWriter(out, fieldnames=list(found[0]), extrasaction="ignore")
    writer.writeheader()
    for row in found:
        writer.writerow({k: safe_cell(v) for k, v in row.items()})
    return out.getvalue()


def filename(table: str, data: StatsOut) -> str:
    return f"followup-{table}-{data.period.start}-{data.period.end}.csv"


RECIPIENT_COLUMNS = (
    "message_id",
    "step",
    "channel",
    "variant",
    "name",
    "to",
    "status",
    "sent_at",
    "delivered_at",
    "clicked",
    "ordered",
    "revenue",
    "currency",
)


def builtins(value: Any) -> dict[str, Any]:
    found: dict[str, Any] = msgspec.to_builtins(value)
    return found


def header(columns: tuple[str, ...]) -> str:
    out = io.StringIO()
    csv.writer(out).writerow(columns)
    return out.getvalue()


def lines(columns: tuple[str, ...], found: list[dict[str, Any]]) -> str:
    """Rows without a header, for a CSV streamed a page at a time; every cell spreadsheet-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    for row in found:
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return out.getvalue()

"""API shapes for privacy exports."""

from __future__ import annotations

from datetime import datetime

import msgspec


class DataExportOut(msgspec.Struct):
    id: int
    request_id: str | None
    created_at: datetime
    size_bytes: int

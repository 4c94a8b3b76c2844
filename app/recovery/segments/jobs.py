"""Worker job: the stores' RFM cut-offs, recomputed once a day from their own buyers."""

from __future__ import annotations

from typing import Any

from app.recovery.segments import services


async def refresh_rfm_cutoffs(ctx: dict[str, Any]) -> int:
    """Daily at 03:23 UTC: each store's recency and monetary quintiles (docs/automations.md)."""
    return await services.refresh_all_cutoffs()

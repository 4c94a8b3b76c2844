"""The plugin's order.placed: the explicit `placed` flag wins, older payloads fall back to status."""

from __future__ import annotations

from app.integrations.woocommerce.normalize import plugin_order


def _doc(**order: object) -> dict[str, object]:
    base = {"id": "9", "status": "pending", "total": "10.00", "created_at": "2026-01-08T18:41:07Z"}
    return {"type": "order.placed", "cart": {"restore_token": "t"}, "order": base | order}


def test_explicit_placed_flag_counts_cash_on_delivery() -> None:
    assert plugin_order(_doc(placed=True, payment_method="cod")).placed is True
    assert plugin_order(_doc(status="processing", placed=False)).placed is False


def test_older_payloads_without_flag_use_status() -> None:
    assert plugin_order(_doc()).placed is False
    assert plugin_order(_doc(status="on-hold")).placed is True
    assert plugin_order(_doc(placed="yes", status="processing")).placed is True

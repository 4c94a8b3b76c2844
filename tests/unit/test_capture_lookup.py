"""The capture path's store lookup knows its kinds; a typo must fail loudly, not look up by key."""

from __future__ import annotations

import pytest

from app.stores.services import capture_store


async def test_an_unknown_lookup_kind_raises() -> None:
    with pytest.raises(ValueError, match="unknown capture lookup 'colect'"):
        await capture_store("colect", "fu_pk_x")

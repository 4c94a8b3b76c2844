"""Small readers shared by the normalizers: device from a user agent, locale tags."""

from __future__ import annotations

import re

_MOBILE = re.compile(r"iPhone|Android.+Mobile|Windows Phone|Mobile Safari|iPod", re.I)
_TABLET = re.compile(r"iPad|Android(?!.*Mobile)|Tablet", re.I)


def device_from_user_agent(user_agent: str | None) -> str:
    if not user_agent:
        return "unknown"
    if _TABLET.search(user_agent):
        return "tablet"
    if _MOBILE.search(user_agent):
        return "mobile"
    return "desktop"


def locale_tag(value: object) -> str | None:
    """`en-US` and `en_US` both become `en_US`, the form babel expects."""
    if not isinstance(value, str) or not value.strip():
        return None
    parts = value.strip().replace("-", "_").split("_")
    if len(parts) >= 2:
        return f"{parts[0].lower()}_{parts[1].upper()}"[:16]
    return parts[0].lower()[:16]

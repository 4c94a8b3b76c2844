"""Small readers shared by the normalizers: device from a user agent, locale tags."""

from __future__ import annotations

from functools import lru_cache

from ua_parser import parse

# ua-parser (the maintained port of the uap-core rules) names the browser, OS and device; these
# sets turn its names into the device classes recovery rules target.
_TABLETS = frozenset({"iPad", "Kindle", "Generic Tablet"})
_PHONES = frozenset({"iPhone", "iPod", "Generic Smartphone", "Generic Feature Phone"})
_MOBILE_OS = frozenset(
    {"iOS", "Android", "Windows Phone", "KaiOS", "BlackBerry OS", "HarmonyOS", "Firefox OS"}
)


@lru_cache(maxsize=4096)
def device_from_user_agent(user_agent: str | None) -> str:
    """mobile, tablet, desktop, or unknown for crawlers and anything that is not a browser."""
    if not user_agent:
        return "unknown"
    result = parse(user_agent[:1024])
    device = result.device.family if result.device else ""
    brand = (result.device.brand or "") if result.device else ""
    os = result.os.family if result.os else ""
    if device == "Spider" or not os or os == "Other":
        return "unknown"
    if device in _TABLETS or "Tablet" in brand or "Tablet" in device:
        return "tablet"
    if os == "Android" and "Mobile" not in user_agent:  # Android tablets leave out "Mobile"
        return "tablet"
    if device in _PHONES or os in _MOBILE_OS:
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

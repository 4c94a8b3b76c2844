"""Which clock the shopper lives by: phone number, then address, then browser, then the store."""

from __future__ import annotations

from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from babel.core import get_global

from app.checkouts.models import Checkout, Contact
from app.core.phones import timezone_of_phone

# Multi-zone countries need the region; this maps each state or province to the zone most of it uses.
_REGION_ZONES: dict[str, str] = {
    **dict.fromkeys(
        [
            "CT",
            "DE",
            "DC",
            "FL",
            "GA",
            "IN",
            "KY",
            "ME",
            "MD",
            "MA",
            "MI",
            "NH",
            "NJ",
            "NY",
            "NC",
            "OH",
            "PA",
            "RI",
            "SC",
            "VT",
            "VA",
            "WV",
        ],
        "America/New_York",
    ),
    **dict.fromkeys(
        [
            "AL",
            "AR",
            "IL",
            "IA",
            "KS",
            "LA",
            "MN",
            "MS",
            "MO",
            "NE",
            "ND",
            "OK",
            "SD",
            "TN",
            "TX",
            "WI",
        ],
        "America/Chicago",
    ),
    **dict.fromkeys(["CO", "MT", "NM", "UT", "WY", "ID"], "America/Denver"),
    "AZ": "America/Phoenix",
    **dict.fromkeys(["CA", "NV", "OR", "WA"], "America/Los_Angeles"),
    "AK": "America/Anchorage",
    "HI": "Pacific/Honolulu",
    **dict.fromkeys(["ON", "QC"], "America/Toronto"),
    **dict.fromkeys(["NS", "NB", "PE"], "America/Halifax"),
    "NL": "America/St_Johns",
    "MB": "America/Winnipeg",
    "SK": "America/Regina",
    "AB": "America/Edmonton",
    "BC": "America/Vancouver",
    **dict.fromkeys(["NSW", "VIC", "ACT", "TAS"], "Australia/Sydney"),
    "QLD": "Australia/Brisbane",
    "SA": "Australia/Adelaide",
    "WA_AU": "Australia/Perth",
    "NT": "Australia/Darwin",
}


def valid_zone(name: str | None) -> str | None:
    if not name:
        return None
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None
    return name


def zone_of_address(country: str | None, region: str | None) -> str | None:
    """A single-zone country answers alone; a larger one needs its state or province."""
    if not country:
        return None
    country = country.upper()
    zones = get_global("territory_zones").get(country, [])
    if len(zones) == 1:
        return zones[0]
    if region:
        key = region.upper().split("-")[-1]
        if country == "AU" and key == "WA":
            key = "WA_AU"
        return _REGION_ZONES.get(key)
    return None


def shopper_zone(
    phone: str | None,
    country: str | None,
    region: str | None,
    browser_zone: str | None,
    store_zone: str,
) -> str:
    """The legal quiet-hours rule follows the recipient, so the phone's area code comes first."""
    return (
        (timezone_of_phone(phone) if phone else None)
        or zone_of_address(country, region)
        or valid_zone(browser_zone)
        or valid_zone(store_zone)
        or "UTC"
    )


def location(contact: Contact | None, checkout: Checkout | None) -> tuple[str | None, str | None]:
    """The shopper's country and region (upper case): the contact's, else the cart's address."""
    address = (checkout.address if checkout else None) or {}
    country = (contact.country if contact else None) or address.get("country_code")
    region = (contact.region if contact else None) or address.get("province_code")
    country = country or (
        address.get("country") if len(str(address.get("country", ""))) == 2 else None
    )
    region = region or address.get("state")
    return (str(country).upper() if country else None), (str(region).upper() if region else None)

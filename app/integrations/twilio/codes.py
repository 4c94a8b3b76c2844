"""Twilio's message statuses and error codes in our terms: delivery states, retry or never, contact flags."""

from __future__ import annotations

from app.messaging.models import DeliveryStatus
from app.messaging.senders import ContactFlag

# Twilio's message statuses, as the API answers a send and as status callbacks report them.
STATUS: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.SENT,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.UNDELIVERED,
    "failed": DeliveryStatus.FAILED,
}

# Errors that will fail again whatever we do: record them on the contact and never retry.
PERMANENT_CODES = frozenset(
    {
        21211,  # invalid To number
        21408,  # region not enabled
        21610,  # recipient replied STOP: opted out
        21612,  # To not reachable from this From
        21614,  # To is not a mobile number
        21606,  # From is not a valid SMS-capable number for this account
        21660,  # From does not belong to the account
    }
)
RATE_LIMITED = 20429

# Errors that say the number itself will not take texts, whether a send or a callback reports them.
OPTED_OUT = frozenset({"21610"})
UNREACHABLE = frozenset({"30003", "30004", "30005", "30006", "21614", "21211"})


def is_permanent(code: int | None, http_status: int) -> bool:
    """A refusal to retry never: a known code, or any 400 with a code other than rate limiting."""
    return code in PERMANENT_CODES or (
        http_status == 400 and code is not None and code != RATE_LIMITED
    )


def contact_flag(code: str | None) -> ContactFlag | None:
    """What an error code says about the number: opted out, unreachable, or nothing."""
    if code in OPTED_OUT:
        return ContactFlag.OPTED_OUT
    if code in UNREACHABLE:
        return ContactFlag.UNDELIVERABLE
    return None

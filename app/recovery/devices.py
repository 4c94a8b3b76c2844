"""One abandonment per shopper across devices: a newer cart of the same contact takes over.

The same contact (one email, one phone, or a userId linked through identify all resolve to one
contact row) abandoning two carts within the store's window (`settings.cross_device_window_hours`,
24 h by default) gets one sequence. The newer cart takes the sequence over where it stands: the
earlier enrollment stops with the reason "replaced by a newer cart" and the newer one continues at
the same step, timed from the first abandonment. So a shopper never receives two sequences, and
never step 1 again after step 1 already went out. An earlier cart is linked to the newer one
(`superseded_by_id`) and shown beside it in the inbox; an order that matches any cart of the group
settles the group's newest live cart, once (`app/checkouts/groups.py`).

Concurrency: every enrollment of a contact takes that contact's row lock first, so two webhooks for
two devices at once are ordered and the second sees the first's enrollment.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from app.checkouts.models import Checkout
from app.recovery import rules
from app.recovery.models import Enrollment, EnrollmentStatus, FlowStep

REPLACED = "replaced_by_newer_cart"
DEFAULT_WINDOW_HOURS = 24
MAX_WINDOW_HOURS = 30 * 24
GROUPED = (EnrollmentStatus.ACTIVE, EnrollmentStatus.PAUSED, EnrollmentStatus.HOLDOUT)


def window(settings: dict[str, Any] | None) -> timedelta:
    """The store's window; 0 turns grouping off."""
    raw = (settings or {}).get("cross_device_window_hours", DEFAULT_WINDOW_HOURS)
    hours = raw if isinstance(raw, int) and not isinstance(raw, bool) else DEFAULT_WINDOW_HOURS
    return timedelta(hours=min(max(hours, 0), MAX_WINDOW_HOURS))


def newer(a: Checkout, b: Checkout) -> bool:
    """Is `a` the newer cart? Last activity decides; the id breaks a tie."""
    return (a.last_activity_at, a.id) > (b.last_activity_at, b.id)


def takeover(
    old: Enrollment, steps: list[FlowStep], now: datetime, next_step: int | None = None
) -> dict[str, Any]:
    """The new cart's enrollment fields: the old one's place in the flow, timed as it was.

    `next_step`: where to continue when the old one's current step already went out (a send
    in flight when the newer cart arrived); past the last step, the sequence is finished."""
    step = old.next_step if next_step is None else next_step
    status = old.status
    fields: dict[str, Any] = {
        "flow_id": old.flow_id,
        "status": status,
        "abandoned_at": old.abandoned_at,
        "next_step": step,
        "paused_at": old.paused_at,
        "pause_reason": old.pause_reason,
        "next_due_at": None,
    }
    if status == EnrollmentStatus.ACTIVE and step >= len(steps):
        fields |= {"status": EnrollmentStatus.COMPLETED, "completed_at": now}
    elif status == EnrollmentStatus.ACTIVE:
        due = rules.step_due(old.abandoned_at, steps[step].delay_seconds)
        fields["next_due_at"] = max(now, due)
    return fields


async def live_in_group(
    checkout: Checkout, settings: dict[str, Any] | None, conn: Any
) -> Enrollment | None:
    """The contact's other enrollment still running (or held out) for a cart within the window."""
    span = window(settings)
    if checkout.contact_id is None or not span:
        return None
    around = checkout.last_activity_at
    return (
        await Enrollment.filter(
            store_id=checkout.store_id,
            contact_id=checkout.contact_id,
            status__in=GROUPED,
            checkout__last_activity_at__gte=around - span,
            checkout__last_activity_at__lte=around + span,
        )
        .exclude(checkout_id=checkout.id)
        .using_db(conn)
        .select_related("checkout")
        .order_by("-checkout__last_activity_at", "-id")
        .first()
    )

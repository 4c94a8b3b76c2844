"""Shapes of the recovery JSON API: flows, steps, variants, previews, code pools, progress."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

import msgspec

SendChannel = Literal["sms", "email"]
# "auto": a text to a mobile shopper who can be texted right now, an email to everyone else.
Channel = Literal["sms", "email", "auto"]


class VariantIn(msgspec.Struct, forbid_unknown_fields=True):
    """An auto step's variant carries both parts: subject/body/html for email, `sms_body` for SMS."""

    body: str
    key: str = "a"
    weight: Decimal = Decimal(1)
    subject: str | None = None
    html: str | None = None
    sms_body: str | None = None


class StepIn(msgspec.Struct, forbid_unknown_fields=True):
    channel: Channel
    delay_seconds: int
    variants: list[VariantIn]
    conditions: dict[str, Any] = msgspec.field(default_factory=dict)
    incentive: dict[str, Any] | None = None
    segment_id: int | None = None
    """A segment of the store (`/api/v1/segments`): contacts outside it skip this step."""


class FlowIn(msgspec.Struct, forbid_unknown_fields=True):
    """POST creates a flow, PUT replaces one whole. `trigger` is a name from the catalogue
    (app/recovery/triggers.py); `transactional` defaults to the trigger's own (payment pending)."""

    name: str
    steps: list[StepIn]
    enabled: bool = True
    holdout_percent: Decimal = Decimal(0)
    trigger: str = "checkout.abandoned"
    trigger_params: dict[str, Any] = msgspec.field(default_factory=dict)
    transactional: bool | None = None
    segment_id: int | None = None
    """Entry condition: a contact outside this segment is stopped at the first step."""


class FlowPatch(msgspec.Struct, forbid_unknown_fields=True):
    """PATCH changes only what is given; `steps`, when given, replaces all steps."""

    name: str | None = None
    enabled: bool | None = None
    holdout_percent: Decimal | None = None
    steps: list[StepIn] | None = None
    trigger: str | None = None
    trigger_params: dict[str, Any] | None = None
    transactional: bool | None = None
    segment_id: int | msgspec.UnsetType | None = msgspec.UNSET
    """null removes the entry segment; absent leaves it as it is."""


class VariantOut(msgspec.Struct):
    key: str
    weight: Decimal
    body: str
    subject: str | None = None
    html: str | None = None
    sms_body: str | None = None


class StepOut(msgspec.Struct):
    position: int
    channel: str
    delay_seconds: int
    conditions: dict[str, Any]
    incentive: dict[str, Any] | None
    variants: list[VariantOut]
    segment_id: int | None = None


class FlowOut(msgspec.Struct):
    id: int
    name: str
    enabled: bool
    holdout_percent: Decimal
    steps: list[StepOut]
    created_at: datetime
    updated_at: datetime
    trigger: str = "checkout.abandoned"
    trigger_params: dict[str, Any] = msgspec.field(default_factory=dict)
    transactional: bool = False
    segment_id: int | None = None


class PreviewIn(msgspec.Struct, forbid_unknown_fields=True):
    channel: SendChannel  # an auto step previews its SMS and its email part separately
    body: str
    subject: str | None = None
    html: str | None = None
    checkout_id: int | None = None
    discount: bool = False
    discount_kind: str | None = None  # percentage, fixed_amount or free_shipping


class PreviewOut(msgspec.Struct):
    channel: str
    text: str
    subject: str | None
    html: str | None
    segments: int
    encoding: str
    characters: int
    checkout_id: int | None


class CodePoolIn(msgspec.Struct, forbid_unknown_fields=True):
    codes: list[str]
    ends_at: datetime | None = None


class CodePoolOut(msgspec.Struct):
    added: int
    available: int


class CodePoolStatus(msgspec.Struct):
    available: int
    issued: int
    kind: str
    value: str | None
    warn_below: int
    warning: str | None


class EnrollmentAction(msgspec.Struct, forbid_unknown_fields=True):
    reason: str = "agent"


class PromoteIn(msgspec.Struct, forbid_unknown_fields=True):
    """The variant to keep: the one the step's A/B test names the winner."""

    variant: str


class AutoPromoteIn(msgspec.Struct, forbid_unknown_fields=True):
    enabled: bool


class AutoPromoteOut(msgspec.Struct):
    flow_id: int
    auto_promote: bool


class PromotionOut(msgspec.Struct):
    id: int
    flow_id: int
    step: int
    channel: str
    winner: str
    retired: list[str]
    automatic: bool
    actor: str
    """An agent's email, "API token", or "worker" for an automatic promotion."""
    rule: str
    """z-test (a merchant's click) or klaviyo (automatic: 500 per variant, 90 % probability)."""
    figures: list[dict[str, Any]]
    created_at: datetime

"""Flow validation on save: every problem is named with its place, so the merchant can fix it."""

from __future__ import annotations

from decimal import Decimal

import msgspec

from app.recovery import sandbox
from app.recovery.discounts import validate_incentive
from app.recovery.rules import SMS_MAX_AGE, validate_conditions
from app.recovery.schemas import StepIn, VariantIn
from app.recovery.templates import RenderProblem, TemplateProblem, check, try_variant

MAX_STEPS, MAX_VARIANTS = 12, 6
MAX_DELAY = 30 * 24 * 3600
SAVE_RENDER_SECONDS = 2.0  # all trial renders of one flow together
SMS_BODY_LIMIT = 1600  # Twilio's Body limit
TEXTING = ("sms", "auto")  # steps that may send the one automated SMS of an abandonment


class FlowProblem(ValueError):
    """Raised with a message that points at the exact field, e.g. `steps[2].variants[0].body`."""


def validate_flow(steps: list[StepIn] | None, holdout_percent: Decimal | None) -> None:
    if holdout_percent is not None and not Decimal(0) <= holdout_percent <= Decimal(50):
        raise FlowProblem("holdout_percent must be between 0 and 50")
    if steps is None:
        return
    if len(steps) > MAX_STEPS:
        raise FlowProblem(f"a flow has at most {MAX_STEPS} steps")
    previous: int | None = None
    with sandbox.time_limit(SAVE_RENDER_SECONDS):
        for index, step in enumerate(steps):
            _validate_step(f"steps[{index}]", step, previous)
            previous = step.delay_seconds
    texts = [i for i, s in enumerate(steps) if s.channel in TEXTING]
    if len(texts) > 1:
        first = steps[texts[0]].channel
        raise FlowProblem(
            f"steps[{texts[1]}]: carriers allow one automated SMS per abandonment; "
            f"steps[{texts[0]}] ({first}) may already send one (an auto step counts as an SMS)"
        )


def _validate_step(where: str, step: StepIn, previous: int | None) -> None:
    if not 0 <= step.delay_seconds <= MAX_DELAY:
        raise FlowProblem(f"{where}.delay_seconds must be between 0 and {MAX_DELAY} (30 days)")
    if previous is not None and step.delay_seconds <= previous:
        raise FlowProblem(
            f"{where}.delay_seconds ({step.delay_seconds}) must be greater than the previous "
            f"step's ({previous}): steps run in order after abandonment"
        )
    limit = int(SMS_MAX_AGE.total_seconds())
    # No such limit on an auto step: after 48 hours it simply resolves to email.
    if step.channel == "sms" and step.delay_seconds > limit:
        raise FlowProblem(
            f"{where}.delay_seconds ({step.delay_seconds}): an automated SMS must go out within "
            f"48 hours of abandonment (at most {limit})"
        )
    problems = validate_conditions(step.conditions)
    if problems:
        raise FlowProblem(f"{where}.conditions: {'; '.join(problems)}")
    if step.incentive is not None:
        found = validate_incentive(step.incentive)
        if found:
            raise FlowProblem(
                "; ".join(
                    f"{where}.incentive{'.' + name if name else ''}: {message}"
                    for name, message in found
                )
            )
    validate_variants(where, step)


def validate_variants(where: str, step: StepIn) -> None:
    if not 1 <= len(step.variants) <= MAX_VARIANTS:
        raise FlowProblem(f"{where}.variants: between 1 and {MAX_VARIANTS} variants")
    keys = [v.key for v in step.variants]
    if len(set(keys)) != len(keys):
        raise FlowProblem(f"{where}.variants: keys must be unique, got {keys}")
    if any(v.weight < 0 for v in step.variants) or sum(v.weight for v in step.variants) <= 0:
        raise FlowProblem(f"{where}.variants: weights must be >= 0 and add up to more than 0")
    for index, variant in enumerate(step.variants):
        validate_variant(f"{where}.variants[{index}]", step.channel, variant)


def validate_variant(where: str, channel: str, variant: VariantIn) -> None:
    if not variant.key or len(variant.key) > 32:
        raise FlowProblem(f"{where}.key must be 1 to 32 characters")
    if not variant.body.strip():
        raise FlowProblem(f"{where}.body must not be empty")
    if channel == "sms" and len(variant.body) > SMS_BODY_LIMIT:
        raise FlowProblem(f"{where}.body: an SMS template is at most {SMS_BODY_LIMIT} characters")
    if channel in ("email", "auto") and not (variant.subject or "").strip():
        raise FlowProblem(f"{where}.subject is required for an email")
    if channel == "sms" and (variant.subject or variant.html):
        raise FlowProblem(f"{where}: an SMS has no subject or html")
    _validate_sms_body(where, channel, variant.sms_body)
    for name in ("subject", "body", "html", "sms_body"):
        source = getattr(variant, name)
        if source:
            try:
                check(source, f"{where}.{name}")
            except TemplateProblem as exc:
                raise FlowProblem(str(exc)) from None
    _validate_render(where, channel, variant)


def _validate_render(where: str, channel: str, variant: VariantIn) -> None:
    parts = {k: v for k, v in msgspec.structs.asdict(variant).items() if v is not None}
    try:
        try_variant(channel, parts)
    except RenderProblem as exc:
        part = getattr(exc, "part", "body")
        reason = getattr(exc, "reason", str(exc))
        raise FlowProblem(
            f"{where}.{part} (variant {variant.key!r}) cannot be sent: {reason}"
        ) from None


def _validate_sms_body(where: str, channel: str, sms_body: str | None) -> None:
    """An auto step's text for mobile shoppers; elsewhere `body` is the one part a step sends."""
    if channel != "auto":
        if sms_body is not None:
            raise FlowProblem(
                f"{where}.sms_body: only an auto step has a separate text message; "
                f"a {channel} step sends its body"
            )
        return
    if not (sms_body or "").strip():
        raise FlowProblem(
            f"{where}.sms_body is required for an auto step: the text a mobile shopper gets"
        )
    if len(sms_body or "") > SMS_BODY_LIMIT:
        raise FlowProblem(
            f"{where}.sms_body: an SMS template is at most {SMS_BODY_LIMIT} characters"
        )

"""Peak-season schedules: date-ranged overrides of a flow's steps (delays, incentive, channel),
in force for carts abandoned inside the range, read on the store's wall clock. Pure: no I/O.

A season is stored on the flow as `{"name", "starts_at", "ends_at", "steps": [override|null]}`:
`starts_at`/`ends_at` are local times without an offset ("2026-11-27T00:00" or a bare date
for midnight), the end excluded; `steps[i]` changes step i's `delay_seconds`, `channel` and/or
`incentive` (null leaves it as it is). Which season applies is decided once per cart, by the
moment it was abandoned, so a whole sequence follows one schedule and its messages carry
one tag (`Message.season`).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from app.recovery.models import FlowStep

MAX_SEASONS = 20
OVERRIDABLE = ("delay_seconds", "channel", "incentive")


class SeasonProblem(ValueError):
    """Names the field exactly, e.g. `seasons[1].ends_at`."""


@dataclass(frozen=True, slots=True)
class Season:
    name: str
    starts_at: datetime  # naive: the store's wall clock
    ends_at: datetime
    steps: tuple[dict[str, Any] | None, ...]

    def covers(self, local: datetime) -> bool:
        return self.starts_at <= local < self.ends_at


def local_time(raw: Any, where: str) -> datetime:
    """A wall-clock time from the API: 'YYYY-MM-DD' (midnight) or 'YYYY-MM-DDTHH:MM[:SS]'."""
    if not isinstance(raw, str):
        raise SeasonProblem(f"{where} must be a local date or time like 2026-11-27T00:00")
    try:
        parsed = datetime.fromisoformat(raw.strip())
    except ValueError:
        raise SeasonProblem(
            f"{where}: {raw!r} is not a date or time like 2026-11-27T00:00"
        ) from None
    if parsed.tzinfo is not None:
        raise SeasonProblem(
            f"{where}: give the time without an offset; the store's time zone applies"
        )
    return parsed


def parse(raw: dict[str, Any], where: str = "season") -> Season:
    if not isinstance(raw, dict):
        raise SeasonProblem(f"{where} must be an object")
    unknown = sorted(set(raw) - {"name", "starts_at", "ends_at", "steps"})
    if unknown:
        raise SeasonProblem(f"{where}.{unknown[0]}: unknown field")
    name = raw.get("name")
    if not isinstance(name, str) or not 1 <= len(name.strip()) <= 64:
        raise SeasonProblem(f"{where}.name must be 1 to 64 characters")
    starts = local_time(raw.get("starts_at"), f"{where}.starts_at")
    ends = local_time(raw.get("ends_at"), f"{where}.ends_at")
    if not starts < ends:
        raise SeasonProblem(f"{where}.ends_at must be after starts_at")
    steps = raw.get("steps") or []
    if not isinstance(steps, list):
        raise SeasonProblem(f"{where}.steps must be a list (one override or null per step)")
    for index, override in enumerate(steps):
        _check_override(override, f"{where}.steps[{index}]")
    return Season(name.strip(), starts, ends, tuple(steps))


def _check_override(override: Any, where: str) -> None:
    if override is None:
        return
    if not isinstance(override, dict):
        raise SeasonProblem(f"{where} must be an object or null")
    unknown = sorted(set(override) - set(OVERRIDABLE))
    if unknown:
        raise SeasonProblem(
            f"{where}.{unknown[0]}: unknown field; a season may change {', '.join(OVERRIDABLE)}"
        )


def parse_all(raw: list[Any], step_count: int) -> list[Season]:
    """Every season valid on its own, none overlapping another, none naming a missing step."""
    if len(raw) > MAX_SEASONS:
        raise SeasonProblem(f"seasons: at most {MAX_SEASONS}")
    found = [parse(item, f"seasons[{i}]") for i, item in enumerate(raw)]
    for i, season in enumerate(found):
        if len(season.steps) > step_count:
            raise SeasonProblem(
                f"seasons[{i}].steps has {len(season.steps)} entries; the flow has {step_count} steps"
            )
        for j, other in enumerate(found[:i]):
            if other.name.lower() == season.name.lower():
                raise SeasonProblem(f"seasons[{i}].name: {season.name!r} is already used")
            if season.starts_at < other.ends_at and other.starts_at < season.ends_at:
                raise SeasonProblem(
                    f"seasons[{i}].starts_at: overlaps seasons[{j}] ({other.name}); "
                    "one season at a time"
                )
    return found


def zone_of(name: str | None) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def active(seasons: list[Season], zone: str | None, at: datetime) -> Season | None:
    """The season whose local range holds `at` (aware) on the store's clock, if any."""
    local = at.astimezone(zone_of(zone)).replace(tzinfo=None)
    return next((s for s in seasons if s.covers(local)), None)


def upcoming(seasons: list[Season], zone: str | None, at: datetime) -> Season | None:
    local = at.astimezone(zone_of(zone)).replace(tzinfo=None)
    later = sorted((s for s in seasons if s.starts_at > local), key=lambda s: s.starts_at)
    return later[0] if later else None


def adapt(variants: list[dict[str, Any]], before: str, after: str) -> list[dict[str, Any]]:
    """An auto step's variants as the channel a season forces: its text alone for "sms", its
    email alone for "email" (other changes are refused when the flow is saved)."""
    if before != "auto" or after == "auto":
        return variants
    if after == "sms":
        return [
            {
                k: v
                for k, v in (
                    ("key", x.get("key")),
                    ("weight", x.get("weight")),
                    ("body", x.get("sms_body")),
                )
                if v is not None
            }
            for x in variants
        ]
    return [{k: v for k, v in x.items() if k != "sms_body"} for x in variants]


def adjust(steps: list[FlowStep], season: Season | None) -> list[FlowStep]:
    """The steps as the season changes them: copies, tagged with its name (never saved)."""
    if season is None:
        return steps
    adjusted = []
    for index, step in enumerate(steps):
        changed = copy.copy(step)
        override = season.steps[index] if index < len(season.steps) else None
        for name, value in (override or {}).items():
            setattr(changed, name, value)
        if override and "channel" in override:
            changed.variants = adapt(step.variants, str(step.channel), str(override["channel"]))
        changed.season_name = season.name
        adjusted.append(changed)
    return adjusted


def loaded(raw: list[dict[str, Any]] | None) -> list[Season]:
    """Seasons as stored (validated on save); one that no longer parses is ignored."""
    out = []
    for item in raw or []:
        try:
            out.append(parse(item))
        except SeasonProblem:
            continue
    return out


def black_friday(year: int, delays: list[int] | None = None) -> dict[str, Any]:
    """Black Friday to Cyber Monday: the Friday after the fourth Thursday of November, 00:00,
    to the Tuesday after, 00:00 (the gallery's preset). Given the flow's delays, every step goes
    out in half the time: shoppers decide fast while the deals last."""
    first = date(year, 11, 1)
    thursday = first + timedelta(days=(3 - first.weekday()) % 7 + 21)
    friday, tuesday = thursday + timedelta(days=1), thursday + timedelta(days=5)
    return {
        "name": f"Black Friday {year}",
        "starts_at": f"{friday.isoformat()}T00:00",
        "ends_at": f"{tuesday.isoformat()}T00:00",
        "steps": [{"delay_seconds": d // 2} for d in delays or []],
    }


def preset_year(zone: str | None, at: datetime) -> int:
    """This year's Black Friday until it is over on the store's clock, then next year's."""
    local = at.astimezone(zone_of(zone)).replace(tzinfo=None)
    this = parse(black_friday(local.year))
    return local.year if local < this.ends_at else local.year + 1


def describe(raw: dict[str, Any]) -> str:
    """What a season changes, in words for the merchant."""
    parts = []
    for index, override in enumerate(raw.get("steps") or []):
        for name, value in (override or {}).items():
            if name == "delay_seconds":
                parts.append(f"step {index + 1} after {_duration(int(value))}")
            elif name == "channel":
                parts.append(f"step {index + 1} by {value}")
            elif name == "incentive":
                parts.append(
                    f"step {index + 1} {'with a new offer' if value else 'without an offer'}"
                )
    return "; ".join(parts) or "Nothing changed yet: the flow's own steps"


def _duration(seconds: int) -> str:
    if seconds % 86400 == 0 and seconds:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0 and seconds:
        return f"{seconds // 3600} h"
    return f"{seconds // 60} min"

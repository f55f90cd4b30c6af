"""Cron expressions: validation, and their occurrences in a timezone (five fields, UTC by default)."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from collections.abc import Iterator
from dataclasses import dataclass

from .exceptions import WorkflowDefinitionError

_FIELDS = (
    ("minute", 0, 59),
    ("hour", 0, 23),
    ("day of month", 1, 31),
    ("month", 1, 12),
    ("day of week", 0, 7),
)
_NAMES = {
    "month": {
        m: i + 1
        for i, m in enumerate(["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"])
    },
    "day of week": {d: i for i, d in enumerate(["sun", "mon", "tue", "wed", "thu", "fri", "sat"])},
}
_ITEM = re.compile(r"^(\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(\d+))?$")


def _value(text: str, name: str, low: int, high: int, cron: str) -> int:
    number = _NAMES.get(name, {}).get(text)
    if number is None:
        if not text.isdigit():
            raise WorkflowDefinitionError(f"cron {cron!r}: {name} field has an invalid value {text!r}")
        number = int(text)
    if not low <= number <= high:
        raise WorkflowDefinitionError(f"cron {cron!r}: {name} value {number} is outside {low}-{high}")
    return number


def validate_cron(cron: str) -> str:
    """Check a five-field cron expression and return it normalized; errors name the bad field."""
    if not isinstance(cron, str):
        raise WorkflowDefinitionError(f"a cron expression must be a string like '0 9 * * 1-5', got {cron!r}")
    parts = cron.lower().split()
    if len(parts) != 5:
        raise WorkflowDefinitionError(
            f"cron {cron!r} has {len(parts)} fields; it needs 5: minute hour day-of-month month day-of-week"
        )
    for part, (name, low, high) in zip(parts, _FIELDS, strict=True):
        for item in part.split(","):
            match = _ITEM.match(item)
            if not match:
                raise WorkflowDefinitionError(f"cron {cron!r}: {name} field has an invalid item {item!r}")
            base, step = match.groups()
            if step is not None and int(step) < 1:
                raise WorkflowDefinitionError(f"cron {cron!r}: {name} step must be at least 1")
            if base != "*":
                bounds = [_value(x, name, low, high, cron) for x in base.split("-")]
                if len(bounds) == 2 and bounds[0] > bounds[1]:
                    raise WorkflowDefinitionError(f"cron {cron!r}: {name} range {base!r} runs backwards")
    return " ".join(parts)


def validate_timezone(name: str) -> str:
    """Check an IANA timezone name (``Europe/Paris``); the error says what was wrong."""
    if not isinstance(name, str) or not name:
        raise WorkflowDefinitionError(f"timezone must be an IANA name like 'Europe/Paris', got {name!r}")
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError) as exc:
        raise WorkflowDefinitionError(f"unknown timezone {name!r}: use an IANA name like 'America/New_York'") from exc
    return name


# --- occurrences ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CronFields:
    """A parsed cron expression: the allowed values of each field."""

    minutes: tuple[int, ...]
    hours: tuple[int, ...]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]  # 0 = Sunday
    days_restricted: bool
    weekdays_restricted: bool

    def day_matches(self, day: dt.date) -> bool:
        if day.month not in self.months:
            return False
        weekday = (day.weekday() + 1) % 7
        in_days = day.day in self.days
        in_weekdays = weekday in self.weekdays
        # Vixie cron: when both day fields are restricted, either one matching is enough.
        if self.days_restricted and self.weekdays_restricted:
            return in_days or in_weekdays
        return in_days and in_weekdays


def _expand(part: str, name: str, low: int, high: int, cron: str) -> set[int]:
    values: set[int] = set()
    for item in part.split(","):
        match = _ITEM.match(item)
        if not match:
            raise WorkflowDefinitionError(f"cron {cron!r}: {name} field has an invalid item {item!r}")
        base, step_text = match.groups()
        step = int(step_text) if step_text else 1
        if base == "*":
            start, end = low, high
        else:
            bounds = [_value(x, name, low, high, cron) for x in base.split("-")]
            start = bounds[0]
            end = bounds[1] if len(bounds) == 2 else (high if step_text else bounds[0])
        values.update(range(start, end + 1, step))
    return values


def parse_cron(cron: str) -> CronFields:
    """Parse a five-field cron expression (see :func:`validate_cron` for the errors)."""
    parts = validate_cron(cron).split()
    fields = [_expand(part, name, low, high, cron) for part, (name, low, high) in zip(parts, _FIELDS, strict=True)]
    weekdays = {0 if d == 7 else d for d in fields[4]}
    return CronFields(
        minutes=tuple(sorted(fields[0])),
        hours=tuple(sorted(fields[1])),
        days=frozenset(fields[2]),
        months=frozenset(fields[3]),
        weekdays=frozenset(weekdays),
        days_restricted=parts[2] != "*",
        weekdays_restricted=parts[4] != "*",
    )


def occurrences(
    cron: str | CronFields, timezone: str, after: dt.datetime, until: dt.datetime | None = None
) -> Iterator[dt.datetime]:
    """The instants (aware, UTC) matching ``cron`` in ``timezone`` strictly after ``after``, in order.

    Wall-clock times are matched in the schedule's timezone.  Across DST changes: a wall time that
    occurs twice (clocks go back) fires once, at its first occurrence, except in schedules that run
    every hour, which keep running every hour; a wall time that does not exist (clocks go forward)
    fires at the same offset after the change (02:30 becomes 03:30), unless that instant is already
    an occurrence.  Stops after ``until`` (inclusive) or after ten years.
    """
    fields = parse_cron(cron) if isinstance(cron, str) else cron
    tz = zoneinfo.ZoneInfo(timezone)
    after = after.astimezone(dt.UTC)
    day = after.astimezone(tz).date() - dt.timedelta(days=1)  # a gap can move a time past midnight
    last = after
    hourly = len(fields.hours) == 24
    for _ in range(366 * 10 + 2):
        if until is not None and dt.datetime.combine(day, dt.time(), tz).astimezone(dt.UTC) > until:
            return
        if fields.day_matches(day):
            for hour in fields.hours:
                for minute in fields.minutes:
                    wall = dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz)
                    instants = [wall.astimezone(dt.UTC)]
                    if hourly:  # an hourly schedule also runs in the repeated hour when clocks go back
                        instants.append(wall.replace(fold=1).astimezone(dt.UTC))
                    for instant in instants:
                        if instant <= last:
                            continue
                        if until is not None and instant > until:
                            return
                        last = instant
                        yield instant
        day += dt.timedelta(days=1)


def next_occurrence(cron: str | CronFields, timezone: str, after: dt.datetime) -> dt.datetime | None:
    """The first occurrence strictly after ``after`` (``None`` if there is none within ten years)."""
    return next(occurrences(cron, timezone, after), None)

"""Validation of cron expressions (five fields, UTC unless a timezone is given)."""

from __future__ import annotations

import re
import zoneinfo

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

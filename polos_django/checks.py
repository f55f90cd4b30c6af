"""System check: the ``POLOS`` durations are numbers (``manage.py check``, start-up of every process)."""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, register

# Settings that must be a number of seconds > 0, and those where 0 means "off".
POSITIVE = ("LEASE_SECONDS", "HEARTBEAT_SECONDS", "REAPER_INTERVAL_SECONDS", "CANCEL_GRACE_SECONDS")
NON_NEGATIVE = ("LANE_HANDOFF_SECONDS",)


def seconds_error(name: str, value: Any, *, allow_zero: bool) -> str | None:
    """What is wrong with ``POLOS[name] = value`` as a duration (``None`` if nothing)."""
    number = not isinstance(value, bool) and isinstance(value, int | float)
    if number and (value > 0 or (value == 0 and allow_zero)):
        return None
    bound = ">= 0 (0 turns it off)" if allow_zero else "> 0"
    return f"POLOS['{name}'] must be a number of seconds {bound}, not {value!r}"


@register()
def check_durations(app_configs: Any = None, **kwargs: Any) -> list[CheckMessage]:
    from .conf import polos_settings

    errors: list[CheckMessage] = []
    for names, allow_zero in ((POSITIVE, False), (NON_NEGATIVE, True)):
        for name in names:
            problem = seconds_error(name, getattr(polos_settings, name), allow_zero=allow_zero)
            if problem:
                errors.append(Error(problem, id="polos.E102"))
    return errors

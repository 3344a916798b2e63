"""Durations and rates as people write them in scenario files ("90s", "5m", "2/s").

Everything inside simharness is plain float seconds and events per second; this module is
the one place that turns human-friendly text into those numbers and back.
"""

from __future__ import annotations

import math
import re
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

__all__ = ["Duration", "Rate", "format_duration", "parse_duration", "parse_rate"]

#: Seconds per unit suffix.
UNITS: dict[str, float] = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_DURATION_RE = re.compile(rf"^\s*({_NUMBER})\s*(ms|s|m|h|d)?\s*$")
_RATE_RE = re.compile(rf"^\s*({_NUMBER})\s*(?:/\s*(ms|s|m|h|d))?\s*$")

_DURATION_HINT = "expected a duration like '90s', '5m', '1h', got {!r}"
_RATE_HINT = "expected a rate like '2/s', got {!r}"


def _number(value: Any, pattern: re.Pattern[str]) -> tuple[float, str | None] | None:
    """Split a number-or-string into (magnitude, unit); None when it is neither."""
    if isinstance(value, bool):  # bool is an int, but `duration: yes` is a mistake
        return None
    if isinstance(value, int | float):
        return float(value), None
    if isinstance(value, str):
        match = pattern.match(value)
        if match:
            return float(match.group(1)), match.group(2)
    return None


def parse_duration(value: Any) -> float:
    """Seconds from a number (already seconds) or a string like "90s", "500ms", "5 m", "1d"."""
    parsed = _number(value, _DURATION_RE)
    if parsed is None or not math.isfinite(parsed[0]):
        raise ValueError(_DURATION_HINT.format(value))
    number, unit = parsed
    if number < 0:
        raise ValueError(f"a duration cannot be negative, got {value!r}")
    return number * UNITS[unit or "s"]


def parse_rate(value: Any) -> float:
    """Events per second from "2/s", "120/m", "100/h", "2400/d" or a plain number (per second)."""
    parsed = _number(value, _RATE_RE)
    if parsed is None or not math.isfinite(parsed[0]):
        raise ValueError(_RATE_HINT.format(value))
    number, unit = parsed
    if number < 0:
        raise ValueError(f"a rate cannot be negative, got {value!r}")
    return number / UNITS[unit or "s"]


def _plain(number: float) -> str:
    """Shortest text that reads back as the same float ("90", "1.5")."""
    return str(int(number)) if float(number).is_integer() else repr(float(number))


def format_duration(seconds: float) -> str:
    """The shortest exact unit form: 3600 -> "1h", 300 -> "5m", 90 -> "90s", 0.5 -> "500ms"."""
    if math.isinf(seconds):
        return "inf"
    if seconds == 0:
        return "0s"
    for unit in ("d", "h", "m"):
        count = seconds / UNITS[unit]
        if count.is_integer():
            return f"{int(count)}{unit}"
    if abs(seconds) < 1 and (seconds * 1000).is_integer():
        return f"{int(seconds * 1000)}ms"
    return f"{_plain(seconds)}s"


Duration = Annotated[
    float,
    BeforeValidator(parse_duration),
    WithJsonSchema({
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": _DURATION_RE.pattern},
        ],
        "examples": ["90s", "500ms", "5m", "1h", "1d", 30],
    }),
]
"""Seconds; accepts a number of seconds or a string with a unit (ms, s, m, h, d)."""

Rate = Annotated[
    float,
    BeforeValidator(parse_rate),
    WithJsonSchema({
        "anyOf": [
            {"type": "number", "minimum": 0},
            {"type": "string", "pattern": _RATE_RE.pattern},
        ],
        "examples": ["2/s", "120/m", "100/h", "2400/d", 2],
    }),
]
"""Events per second; accepts a number (per second) or "N/s", "N/m", "N/h", "N/d"."""

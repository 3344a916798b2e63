"""Bounds on a metric, as written under `expect:` (">= 0.8", "<= 30s", "between 0.1 and 0.3")."""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass

from .units import parse_duration

__all__ = ["Bound", "parse_bound"]

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
}
_COMPARE_RE = re.compile(r"^\s*(>=|<=|==|>|<)\s*(\S.*?)\s*$")
_BETWEEN_RE = re.compile(r"^\s*between\s+(\S+)\s+and\s+(\S+)\s*$", re.IGNORECASE)
_HINT = "expected a bound like '>= 0.8', '<= 30s' or 'between 0.1 and 0.3', got {!r}"


@dataclass(frozen=True)
class Bound:
    """A pass/fail test for one metric value. `between` is inclusive at both ends."""

    op: str
    low: float
    high: float | None = None

    def check(self, value: float) -> bool:
        """True when `value` satisfies the bound (NaN never does)."""
        if self.op == "between":
            assert self.high is not None
            return self.low <= value <= self.high
        return _OPS[self.op](value, self.low)

    def __str__(self) -> str:
        if self.op == "between":
            return f"between {_fmt(self.low)} and {_fmt(self.high or 0.0)}"
        return f"{self.op} {_fmt(self.low)}"


def _fmt(number: float) -> str:
    return str(int(number)) if float(number).is_integer() else repr(number)


def _value(text: str, original: str) -> float:
    """A plain number (may be negative) or a duration such as "30s" (in seconds)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return parse_duration(text)
    except ValueError:
        raise ValueError(_HINT.format(original)) from None


def parse_bound(text: str) -> Bound:
    """Parse the text of an `expect:` entry; raises ValueError saying what is accepted."""
    if not isinstance(text, str):
        raise ValueError(_HINT.format(text))
    match = _BETWEEN_RE.match(text)
    if match:
        low, high = _value(match.group(1), text), _value(match.group(2), text)
        if high < low:
            raise ValueError(f"empty range in {text!r}: {_fmt(low)} is above {_fmt(high)}")
        return Bound("between", low, high)
    match = _COMPARE_RE.match(text)
    if not match:
        raise ValueError(_HINT.format(text))
    return Bound(match.group(1), _value(match.group(2), text))

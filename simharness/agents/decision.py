"""What an agent returns, and how any accepted return value becomes a Decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


class InvalidOutput(ValueError):
    """The agent returned something that is not a routing decision."""


@dataclass(slots=True)
class Decision:
    """A routing decision: one route label or several (multi-issue), and whether to escalate."""

    route: str | list[str]
    escalate: bool = False
    confidence: float | None = None
    reason: str = ""
    actions: list[str] = field(default_factory=list)

    @property
    def routes(self) -> list[str]:
        return [self.route] if isinstance(self.route, str) else list(self.route)


def _routes(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value] if value else []
    if isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
        return [v for v in value if v]
    raise InvalidOutput(f"route must be a string or a list of strings, got {value!r:.80}")


def normalize(value: Any) -> Decision:
    """Turn a str, a list of str, a Decision or a mapping with `route` into a Decision."""
    if isinstance(value, Decision):
        if not isinstance(value.escalate, bool):
            raise InvalidOutput(f"escalate must be true or false, got {value.escalate!r:.40}")
        return Decision(_routes(value.route), value.escalate, value.confidence,
                        str(value.reason or ""), list(value.actions))
    if isinstance(value, (str, list, tuple)):
        return Decision(_routes(value))
    if isinstance(value, Mapping):
        if "route" not in value and "routes" not in value:
            raise InvalidOutput(
                f"a decision mapping needs a 'route' key, got keys {sorted(value)!r}")
        routes = _routes(value.get("route", value.get("routes")))
        confidence = value.get("confidence")
        if confidence is not None and not isinstance(confidence, (int, float)):
            raise InvalidOutput(f"confidence must be a number, got {confidence!r:.40}")
        escalate = value.get("escalate", False)
        if not isinstance(escalate, bool):
            raise InvalidOutput(f"escalate must be true or false, got {escalate!r:.40}")
        return Decision(routes, escalate, None if confidence is None else float(confidence),
                        str(value.get("reason") or ""), list(value.get("actions") or []))
    raise InvalidOutput(f"agent returned {type(value).__name__} {value!r:.80}; expected a route "
                        "label, a list of labels, a Decision or a dict with 'route'")

"""What an agent returns, and how any accepted return value becomes a Decision."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..records import cut_text


class InvalidOutput(ValueError):
    """The agent returned something that is not a routing decision."""


#: A route label longer than this is not a label but prose (or worse): invalid output.
MAX_LABEL_CHARS = 128
#: More routes than this in one decision is not a multi-issue ticket: invalid output.
MAX_ROUTES = 32
#: More actions than this is not a list of safety nets used: invalid output.
MAX_ACTIONS = 32
#: A reason is kept up to this many characters, then cut with a note of how much.
MAX_REASON_CHARS = 2000


def _label(value: str, what: str = "route label") -> str:
    if len(value) > MAX_LABEL_CHARS:
        raise InvalidOutput(f"{what} of {len(value):,} characters (at most {MAX_LABEL_CHARS}): "
                            f"{value[:60]!r}…; return the route, not the text around it")
    return value


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
        return [_label(value)] if value else []
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_ROUTES:
            raise InvalidOutput(f"{len(value):,} routes in one decision (at most {MAX_ROUTES})")
        if all(isinstance(v, str) for v in value):
            return [_label(v) for v in value if v]
    raise InvalidOutput(f"route must be a string or a list of strings, got {_short(value)}")


def _short(value: Any) -> str:
    """A repr cut to 80 characters without building the whole repr of a huge value."""
    if isinstance(value, (list, tuple, dict, set)) and len(value) > 8:
        return f"{type(value).__name__} of {len(value):,} items"
    return f"{value!r:.80}"


def _actions(value: Any) -> list[str]:
    actions = list(value or [])
    if len(actions) > MAX_ACTIONS:
        raise InvalidOutput(f"{len(actions):,} actions in one decision (at most {MAX_ACTIONS})")
    return [_label(str(a), "action") for a in actions]


def normalize(value: Any) -> Decision:
    """Turn a str, a list of str, a Decision or a mapping with `route` into a Decision."""
    if isinstance(value, Decision):
        if not isinstance(value.escalate, bool):
            raise InvalidOutput(f"escalate must be true or false, got {value.escalate!r:.40}")
        return Decision(_routes(value.route), value.escalate, value.confidence,
                        cut_text(str(value.reason or ""), MAX_REASON_CHARS),
                        _actions(value.actions))
    if isinstance(value, (str, list, tuple)):
        return Decision(_routes(value))
    if isinstance(value, Mapping):
        if "route" not in value and "routes" not in value:
            keys = _short(sorted(map(str, value)))
            raise InvalidOutput(f"a decision mapping needs a 'route' key, got keys {keys}")
        routes = _routes(value.get("route", value.get("routes")))
        confidence = value.get("confidence")
        if confidence is not None and not isinstance(confidence, (int, float)):
            raise InvalidOutput(f"confidence must be a number, got {confidence!r:.40}")
        escalate = value.get("escalate", False)
        if not isinstance(escalate, bool):
            raise InvalidOutput(f"escalate must be true or false, got {escalate!r:.40}")
        return Decision(routes, escalate, None if confidence is None else float(confidence),
                        cut_text(str(value.get("reason") or ""), MAX_REASON_CHARS),
                        _actions(value.get("actions")))
    raise InvalidOutput(f"agent returned {type(value).__name__} {_short(value)}; expected a "
                        "route label, a list of labels, a Decision or a dict with 'route'")

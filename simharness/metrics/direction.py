"""Which way is better for each metric: what turns a delta into a regression.

Accuracy, F1 and recall going down is worse; latency, cost, failures, misses, calls and
client-audit findings going up is worse; counts that describe the traffic (tickets,
support, fault windows) have no better direction and are never called a regression.
"""

from __future__ import annotations

from fnmatch import fnmatchcase
from typing import Literal

Direction = Literal[1, -1, 0]
HIGHER_IS_BETTER: Direction = 1
LOWER_IS_BETTER: Direction = -1
NEUTRAL: Direction = 0

#: First match wins; paths are dotted metric paths (`routing.per_route.billing.f1`).
_RULES: tuple[tuple[str, Direction], ...] = (
    # descriptions of the traffic and of the fault plan, not of the agent
    ("tickets.total", NEUTRAL),
    ("routing.per_route.*.support", NEUTRAL),
    ("faults.*", NEUTRAL),
    ("recovery.*.start", NEUTRAL),
    ("recovery.*.end", NEUTRAL),
    ("recovery.*.tickets", NEUTRAL),
    # routing quality
    ("routing.accuracy*", HIGHER_IS_BETTER),
    ("routing.macro_f1", HIGHER_IS_BETTER),
    ("routing.micro_f1", HIGHER_IS_BETTER),
    ("routing.per_route.*", HIGHER_IS_BETTER),
    ("routing.by_tag.*", HIGHER_IS_BETTER),
    ("routing.by_tag_f1.*", HIGHER_IS_BETTER),
    ("routing.review_rate", LOWER_IS_BETTER),
    ("escalation.precision", HIGHER_IS_BETTER),
    ("escalation.recall", HIGHER_IS_BETTER),
    ("escalation.*", LOWER_IS_BETTER),  # missed, missed_high_value, false_escalations
    # failures, time, money, load
    ("tickets.ok", HIGHER_IS_BETTER),
    ("tickets.*", LOWER_IS_BETTER),  # error, timeout, hung, invalid_output, failed, rate
    ("latency.*", LOWER_IS_BETTER),
    ("cost.*", LOWER_IS_BETTER),
    ("calls.*", LOWER_IS_BETTER),
    ("recovery.*", LOWER_IS_BETTER),  # time to detect/recover, failed, amplification
    ("client.*", LOWER_IS_BETTER),  # findings of the client audit (Retry-After ignored, ...)
)


def direction(path: str) -> Direction:
    """+1 when a higher value is better, -1 when lower is better, 0 when neither."""
    for pattern, sign in _RULES:
        if fnmatchcase(path, pattern):
            return sign
    return NEUTRAL


def worse(path: str, delta: float) -> bool:
    """True when moving by `delta` (new minus old) makes `path` worse."""
    return direction(path) * delta < 0

"""Shadow comparison: the agent under test against what production decided back then.

Replayed tickets may carry production's past decision (`past_route`, `past_escalate`
columns). Comparing the two on the same tickets tells a team whether a new agent would
have done better than the one in production, before it ships.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..records import TicketRecord
from ._common import ratio

#: The numeric paths of the `shadow` section.
FIELDS = ("tickets", "agreement", "disagreements", "production_accuracy", "agent_accuracy",
          "agent_right_production_wrong", "production_right_agent_wrong",
          "escalation_agreement")


def disagrees(record: TicketRecord) -> bool:
    """The agent routed the ticket differently from production."""
    return record.past_route is not None and set(record.pred_route) != set(record.past_route)


def shadow_metrics(records: Sequence[TicketRecord]) -> dict[str, Any] | None:
    """The `shadow` section, or None when no record carries a production decision."""
    routed = [r for r in records if r.past_route is not None]
    escalated = [r for r in records if r.past_escalate is not None]
    if not routed and not escalated:
        return None
    labelled = [r for r in routed if r.true_route]
    agent_right = [set(r.pred_route) == set(r.true_route) for r in labelled]
    past_right = [set(r.past_route or ()) == set(r.true_route) for r in labelled]
    return {
        "tickets": len(routed),
        "agreement": ratio(sum(not disagrees(r) for r in routed), len(routed)),
        "disagreements": sum(disagrees(r) for r in routed),
        "production_accuracy": ratio(sum(past_right), len(labelled)),
        "agent_accuracy": ratio(sum(agent_right), len(labelled)),
        "agent_right_production_wrong": sum(a and not p for a, p in
                                            zip(agent_right, past_right, strict=True)),
        "production_right_agent_wrong": sum(p and not a for a, p in
                                            zip(agent_right, past_right, strict=True)),
        "escalation_agreement": ratio(sum(r.pred_escalate == r.past_escalate
                                          for r in escalated), len(escalated)),
    }

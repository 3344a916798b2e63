"""Shadow comparison: the agent under test against what production decided back then.

Replayed tickets may carry production's past decision (`past_route`, `past_escalate`
columns). Comparing the two on the same tickets tells a team whether a new agent would
have done better than the one in production, before it ships.
"""

from __future__ import annotations

from typing import Any

from ..columns import Columns
from ..records import TicketRecord
from ._common import ratio

#: The numeric paths of the `shadow` section.
FIELDS = ("tickets", "agreement", "disagreements", "production_accuracy", "agent_accuracy",
          "agent_right_production_wrong", "production_right_agent_wrong",
          "escalation_agreement")


def disagrees(record: TicketRecord) -> bool:
    """The agent routed the ticket differently from production."""
    return record.past_route is not None and set(record.pred_route) != set(record.past_route)


def shadow_metrics(cols: Columns) -> dict[str, Any] | None:
    """The `shadow` section, or None when no record carries a production decision."""
    routed = cols.past_route >= 0
    escalated = cols.past_escalate >= 0
    if not routed.any() and not escalated.any():
        return None
    past = cols.past_route[routed]
    agree = cols.same_set(cols.pred_route[routed], past)
    labelled = routed & (cols.lengths(cols.true_route) > 0)
    agent_right = cols.correct[labelled]
    past_right = cols.same_set(cols.past_route[labelled], cols.true_route[labelled])
    n_routed, n_labelled = int(routed.sum()), int(labelled.sum())
    n_escalated = int(escalated.sum())
    return {
        "tickets": n_routed,
        "agreement": ratio(int(agree.sum()), n_routed),
        "disagreements": n_routed - int(agree.sum()),
        "production_accuracy": ratio(int(past_right.sum()), n_labelled),
        "agent_accuracy": ratio(int(agent_right.sum()), n_labelled),
        "agent_right_production_wrong": int((agent_right & ~past_right).sum()),
        "production_right_agent_wrong": int((past_right & ~agent_right).sum()),
        "escalation_agreement": ratio(
            int((cols.pred_escalate[escalated]
                 == (cols.past_escalate[escalated] == 1)).sum()), n_escalated),
    }

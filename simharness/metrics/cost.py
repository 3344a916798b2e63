"""What a run cost: model spend per ticket/hour/resolution, and people doing reviews.

A ticket the agent hands to a person (`human_review` among its routes) costs
`world.human_review.cost_per_ticket` on top, so a lower confidence threshold (more
reviews, fewer wrong routes) can be weighed against money.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..records import TicketRecord
from ._common import ratio
from .routing import REVIEW_ROUTE


def resolved(record: TicketRecord) -> bool:
    """Handled and routed right: status ok and the exact set of true routes."""
    return record.status == "ok" and set(record.pred_route) == set(record.true_route)


def cost_metrics(records: Sequence[TicketRecord], *, sim_seconds: float,
                 review_cost: float = 0.0) -> dict[str, Any]:
    """The `cost` section (model cost in USD; review cost kept separate and summed)."""
    n = len(records)
    total = float(sum(r.cost_usd for r in records))
    tokens_in = int(sum(r.tokens_in for r in records))
    tokens_out = int(sum(r.tokens_out for r in records))
    reviews = sum(REVIEW_ROUTE in r.pred_route for r in records)
    review_usd = float(reviews * review_cost)
    return {
        "total_usd": total,
        "per_ticket_usd": ratio(total, n),
        "per_hour_usd": ratio(total * 3600, sim_seconds),
        "per_resolved_usd": ratio(total, sum(resolved(r) for r in records)),
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "tokens_per_ticket": ratio(tokens_in + tokens_out, n),
        "human_reviews": reviews,
        "human_review_usd": review_usd,
        "total_with_review_usd": total + review_usd,
    }


def cumulative_cost(records: Sequence[TicketRecord]) -> tuple[np.ndarray, np.ndarray]:
    """(times, dollars so far): model cost booked when each ticket finished (or arrived,
    if it never did), sorted by that time; for cost-over-time curves."""
    times = np.array([r.finished_at if r.finished_at is not None else r.arrived_at
                      for r in records], dtype=float)
    costs = np.array([r.cost_usd for r in records], dtype=float)
    order = np.argsort(times, kind="stable")
    return times[order], np.cumsum(costs[order])

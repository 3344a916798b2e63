"""What a run cost: model spend per ticket/hour/resolution, and people doing reviews.

A ticket the agent hands to a person (`human_review` among its routes) costs
`world.human_review.cost_per_ticket` on top, so a lower confidence threshold (more
reviews, fewer wrong routes) can be weighed against money.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..columns import Columns
from ..records import TicketRecord
from ._common import as_columns, float_sum, ratio
from .routing import REVIEW_ROUTE


def resolved(record: TicketRecord) -> bool:
    """Handled and routed right: status ok and the exact set of true routes."""
    return record.status == "ok" and set(record.pred_route) == set(record.true_route)


def cost_metrics(cols: Columns, *, sim_seconds: float,
                 review_cost: float = 0.0) -> dict[str, Any]:
    """The `cost` section (model cost in USD; review cost kept separate and summed)."""
    n = len(cols)
    total = float_sum(cols.cost_usd)
    tokens_in = int(cols.tokens_in.sum())
    tokens_out = int(cols.tokens_out.sum())
    reviews = int(cols.has(cols.pred_route, REVIEW_ROUTE).sum())
    review_usd = float(reviews * review_cost)
    resolved_count = int((cols.status_is("ok") & cols.correct).sum())
    return {
        "total_usd": total,
        "per_ticket_usd": ratio(total, n),
        "per_hour_usd": ratio(total * 3600, sim_seconds),
        "per_resolved_usd": ratio(total, resolved_count),
        "tokens_in": tokens_in,
        "tokens_out": tokens_out,
        "tokens_per_ticket": ratio(tokens_in + tokens_out, n),
        "human_reviews": reviews,
        "human_review_usd": review_usd,
        "total_with_review_usd": total + review_usd,
    }


def cumulative_cost(records: Sequence[TicketRecord] | Columns) -> tuple[np.ndarray, np.ndarray]:
    """(times, dollars so far): model cost booked when each ticket finished (or arrived,
    if it never did), sorted by that time; for cost-over-time curves."""
    cols = as_columns(records)
    times = np.where(cols.finished, cols.finished_at, cols.arrived_at)
    order = np.argsort(times, kind="stable")
    return times[order], np.cumsum(cols.cost_usd[order])

"""Latency as the customer sees it: queue wait plus service time, per ticket."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..columns import Columns
from ._common import quantiles, ratio

END_TO_END = ("p50", "p90", "p95", "p99", "mean", "max")
PARTS = ("p50", "p95", "mean")


def latency_metrics(cols: Columns, sla: float | None = None) -> dict[str, Any]:
    """The `latency` section. Percentiles cover finished tickets; `sla_breach_rate` (only
    with `world.sla`) counts every ticket, an unfinished one as a breach."""
    finished = cols.finished
    wait_q = quantiles(cols.wait_s[finished], PARTS)
    service_q = quantiles(cols.service_s[finished], PARTS)
    out: dict[str, Any] = {
        **quantiles(cols.end_to_end[finished], END_TO_END),
        # Kept for old readers: 0.0 with no tickets at all, as before.
        "mean_wait": wait_q["mean"] if len(cols) else 0.0,
        "mean_service": service_q["mean"] if len(cols) else 0.0,
        "wait": wait_q,
        "service": service_q,
    }
    if sla is not None:
        out["sla_breach_rate"] = sla_breach_rate(cols, sla)
    return out


def sla_breach_rate(cols: Columns, sla: float) -> float:
    """Share of tickets whose decision took longer than `sla` (or never came)."""
    latency = cols.end_to_end
    breached = np.isnan(latency) | (latency > sla)
    return ratio(int(breached.sum()), len(cols))

"""Latency as the customer sees it: queue wait plus service time, per ticket."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..records import TicketRecord
from ._common import end_to_end, quantiles, ratio

END_TO_END = ("p50", "p90", "p95", "p99", "mean", "max")
PARTS = ("p50", "p95", "mean")


def latency_metrics(records: Sequence[TicketRecord], sla: float | None = None) -> dict[str, Any]:
    """The `latency` section. Percentiles cover finished tickets; `sla_breach_rate` (only
    with `world.sla`) counts every ticket, an unfinished one as a breach."""
    finished = [r for r in records if r.finished_at is not None]
    total = end_to_end(finished)
    waits = np.array([r.wait_s for r in finished], dtype=float)
    service = np.array([r.service_s for r in finished], dtype=float)
    wait_q, service_q = quantiles(waits, PARTS), quantiles(service, PARTS)
    out: dict[str, Any] = {
        **quantiles(total, END_TO_END),
        # Kept for old readers: 0.0 with no tickets at all, as before.
        "mean_wait": wait_q["mean"] if records else 0.0,
        "mean_service": service_q["mean"] if records else 0.0,
        "wait": wait_q,
        "service": service_q,
    }
    if sla is not None:
        out["sla_breach_rate"] = sla_breach_rate(records, sla)
    return out


def sla_breach_rate(records: Sequence[TicketRecord], sla: float) -> float:
    """Share of tickets whose decision took longer than `sla` (or never came)."""
    latency = end_to_end(records)
    breached = np.isnan(latency) | (latency > sla)
    return ratio(int(breached.sum()), len(records))

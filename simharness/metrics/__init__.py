"""Metrics computed only from per-ticket records (never from engine state)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ..records import STATUSES, TicketRecord


def _percentiles(values: np.ndarray) -> dict[str, float]:
    if values.size == 0:
        return {k: float("nan") for k in ("p50", "p90", "p95", "p99", "mean", "max")}
    p50, p90, p95, p99 = np.percentile(values, [50, 90, 95, 99])
    return {"p50": float(p50), "p90": float(p90), "p95": float(p95), "p99": float(p99),
            "mean": float(values.mean()), "max": float(values.max())}


def _ratio(num: float, den: float) -> float:
    return float(num / den) if den else float("nan")


def routing_accuracy(records: Sequence[TicketRecord]) -> float:
    """Exact set match of predicted and true routes; a failed ticket predicts nothing."""
    return _ratio(sum(set(r.pred_route) == set(r.true_route) for r in records), len(records))


def in_windows(record: TicketRecord, spans: Sequence[tuple[float, float]]) -> bool:
    return any(start <= record.arrived_at < end for start, end in spans)


def by_fault_window(records: Sequence[TicketRecord],
                    windows: Sequence[tuple[str, float, float]]) -> dict[str, float]:
    """Routing accuracy of tickets that arrived inside fault windows, outside them, and per
    fault: `accuracy@faults`, `accuracy@baseline`, `accuracy@fault:<name>`."""
    if not windows:
        return {}
    spans = [(s, e) for _, s, e in windows]
    inside = [r for r in records if in_windows(r, spans)]
    out = {"accuracy@faults": routing_accuracy(inside),
           "accuracy@baseline": routing_accuracy([r for r in records
                                                  if not in_windows(r, spans)])}
    for name in dict.fromkeys(n for n, _, _ in windows):
        own = [(s, e) for n, s, e in windows if n == name]
        out[f"accuracy@fault:{name}"] = routing_accuracy(
            [r for r in records if in_windows(r, own)])
    return out


def compute(records: Sequence[TicketRecord], *, sim_seconds: float,
            fault_windows: Sequence[tuple[str, float, float]] = ()) -> dict[str, Any]:
    """The nested metrics dict (`tickets.total`, `routing.accuracy`, `latency.p95`, ...)."""
    n = len(records)
    statuses = {s: 0 for s in STATUSES}
    for r in records:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    finished = [r for r in records if r.finished_at is not None]
    latency = np.array([r.wait_s + r.service_s for r in finished], dtype=float)
    waits = np.array([r.wait_s for r in finished], dtype=float)
    service = np.array([r.service_s for r in finished], dtype=float)
    tags = sorted({t for r in records for t in r.tags})
    by_tag = {t: routing_accuracy([r for r in records if t in r.tags]) for t in tags}
    should = [r for r in records if r.true_escalate]
    did = [r for r in records if r.pred_escalate]
    both = sum(r.true_escalate and r.pred_escalate for r in records)
    total_cost = float(sum(r.cost_usd for r in records))
    calls = sum(r.calls for r in records)
    fault_names = sorted({f for r in records for f in r.faults})
    return {
        "tickets": {"total": n, **statuses, "failed": n - statuses["ok"],
                    "failure_rate": _ratio(n - statuses["ok"], n)},
        "routing": {"accuracy": routing_accuracy(records), "by_tag": by_tag,
                    **by_fault_window(records, fault_windows)},
        "escalation": {"precision": _ratio(both, len(did)), "recall": _ratio(both, len(should)),
                       "missed": len(should) - both},
        "latency": {**_percentiles(latency), "mean_wait": float(waits.mean()) if n else 0.0,
                    "mean_service": float(service.mean()) if n else 0.0},
        "cost": {"total_usd": total_cost, "per_ticket_usd": _ratio(total_cost, n),
                 "per_hour_usd": _ratio(total_cost * 3600, sim_seconds),
                 "tokens_in": int(sum(r.tokens_in for r in records)),
                 "tokens_out": int(sum(r.tokens_out for r in records))},
        "calls": {"total": calls, "per_ticket": _ratio(calls, n),
                  "retries": int(sum(r.retries for r in records))},
        "faults": {name: sum(name in r.faults for r in records) for name in fault_names},
    }


def lookup(metrics: dict[str, Any], path: str) -> Any:
    """`lookup(m, "latency.p95")`; KeyError when the path does not exist."""
    node: Any = metrics
    parts = path.split(".")
    i = 0
    while i < len(parts):
        if not isinstance(node, dict):
            raise KeyError(path)
        # A key may itself hold dots (a fault named "llm.large-down"): take the longest.
        for j in range(len(parts), i, -1):
            key = ".".join(parts[i:j])
            if key in node:
                node, i = node[key], j
                break
        else:
            raise KeyError(path)
    return node


def paths(metrics: dict[str, Any], prefix: str = "") -> list[str]:
    """Every leaf path of the metrics dict (for error messages that suggest one)."""
    out: list[str] = []
    for key, value in metrics.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(paths(value, path + "."))
        else:
            out.append(path)
    return out

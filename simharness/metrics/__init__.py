"""Metrics computed only from per-ticket records (never from engine state).

`compute` assembles the nested dict from small modules: `routing` (accuracy, per-route
F1, confusion, escalation), `latency`, `cost`, `recovery` (per fault window), `client`
(the agent's HTTP client behaviour). `catalog` lists the paths a scenario's `expect:`
may name, for checking at load time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ..records import STATUSES, TicketRecord
from ._common import Settings, Window, ratio
from .client import client_metrics
from .cost import cost_metrics, cumulative_cost
from .latency import latency_metrics
from .recovery import recovery_metrics
from .routing import (
    by_fault_window,
    escalation_metrics,
    in_windows,
    routing_accuracy,
    routing_metrics,
)
from .shadow import shadow_metrics

if TYPE_CHECKING:
    from ..scenario import Scenario

__all__ = ["by_fault_window", "compute", "cumulative_cost", "in_windows", "lookup", "paths",
           "routing_accuracy"]


def _tickets(records: Sequence[TicketRecord]) -> dict[str, Any]:
    n = len(records)
    statuses = {s: 0 for s in STATUSES}
    for r in records:
        statuses[r.status] = statuses.get(r.status, 0) + 1
    return {"total": n, **statuses, "failed": n - statuses["ok"],
            "failure_rate": ratio(n - statuses["ok"], n)}


def _faults(records: Sequence[TicketRecord], configured: Sequence[str]) -> dict[str, int]:
    """Tickets touched by each fault: every configured fault (0 if none), then any other."""
    seen = sorted({f for r in records for f in r.faults} - set(configured))
    return {name: sum(name in r.faults for r in records) for name in (*configured, *seen)}


def compute(records: Sequence[TicketRecord], *, sim_seconds: float,
            fault_windows: Sequence[Window] = (),
            config: Scenario | None = None) -> dict[str, Any]:
    """The nested metrics dict (`tickets.total`, `routing.accuracy`, `latency.p95`, ...).

    `config` (the scenario) is optional: it orders route labels, and supplies
    `world.sla`, `world.human_review` and which faults never end.
    """
    settings = Settings.of(config)
    calls = sum(r.calls for r in records)
    # Replayed tickets without a route column have no truth: routing is measured on the rest.
    labelled = [r for r in records if r.true_route]
    out = {
        "tickets": _tickets(records),
        "routing": {**routing_metrics(labelled, routes=settings.routes, windows=fault_windows),
                    "labelled": len(labelled)},
        "escalation": escalation_metrics(records),
        "latency": latency_metrics(records, settings.sla),
        "cost": cost_metrics(records, sim_seconds=sim_seconds,
                             review_cost=settings.review_cost),
        "calls": {"total": calls, "per_ticket": ratio(calls, len(records)),
                  "retries": int(sum(r.retries for r in records))},
        "faults": _faults(records, settings.fault_names),
        "recovery": recovery_metrics(records, fault_windows, sim_seconds=sim_seconds,
                                     never_ending=settings.never_ending),
        "client": client_metrics(records),
    }
    shadow = shadow_metrics(records)
    if shadow is not None:
        out["shadow"] = shadow
    return out


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

"""Metrics computed only from per-ticket records (never from engine state), read as
columns (`simharness.columns.Columns`), so a million tickets cost arrays, not objects.

`compute` assembles the nested dict from small modules: `routing` (accuracy, per-route
F1, confusion, escalation), `latency`, `cost`, `recovery` (per fault window), `client`
(the agent's HTTP client behaviour). `catalog` lists the paths a scenario's `expect:`
may name, for checking at load time.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from ..columns import Columns
from ..records import STATUSES, TicketRecord
from ._common import Settings, Window, as_columns, ratio
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


def _tickets(cols: Columns) -> dict[str, Any]:
    n = len(cols)
    counts = np.bincount(cols.status, minlength=len(cols.status_names)).tolist()
    # Statuses outside STATUSES (none today) follow, in the order they first occur.
    first = {code: int(np.argmax(cols.status == code)) for code in range(len(STATUSES),
             len(counts)) if counts[code]}
    statuses = {s: counts[k] for k, s in enumerate(STATUSES)}
    statuses.update((cols.status_names[code], counts[code])
                    for code in sorted(first, key=first.__getitem__))
    return {"total": n, **statuses, "failed": n - statuses["ok"],
            "failure_rate": ratio(n - statuses["ok"], n)}


def _faults(cols: Columns, configured: Sequence[str]) -> dict[str, int]:
    """Tickets touched by each fault: every configured fault (0 if none), then any other."""
    per_code = np.bincount(cols.faults, minlength=len(cols.values)).tolist()
    counts: dict[str, int] = {}
    for code, tickets in enumerate(per_code):
        if tickets:
            for name in set(cols.values[code]):
                counts[name] = counts.get(name, 0) + tickets
    seen = sorted(set(counts) - set(configured))
    return {name: counts.get(name, 0) for name in (*configured, *seen)}


def compute(records: Sequence[TicketRecord] | Columns, *, sim_seconds: float,
            fault_windows: Sequence[Window] = (),
            config: Scenario | None = None) -> dict[str, Any]:
    """The nested metrics dict (`tickets.total`, `routing.accuracy`, `latency.p95`, ...),
    from a run's columns or from records in arrival order.

    `config` (the scenario) is optional: it orders route labels, and supplies
    `world.sla`, `world.human_review` and which faults never end.
    """
    cols = as_columns(records)
    settings = Settings.of(config)
    calls = int(cols.calls.sum())
    # Replayed tickets without a route column have no truth: routing is measured on the rest.
    truth = cols.lengths(cols.true_route) > 0
    labelled = cols if truth.all() else cols.take(truth)
    out = {
        "tickets": _tickets(cols),
        "routing": {**routing_metrics(labelled, routes=settings.routes, windows=fault_windows),
                    "labelled": len(labelled)},
        "escalation": escalation_metrics(cols),
        "latency": latency_metrics(cols, settings.sla),
        "cost": cost_metrics(cols, sim_seconds=sim_seconds,
                             review_cost=settings.review_cost),
        "calls": {"total": calls, "per_ticket": ratio(calls, len(cols)),
                  "retries": int(cols.retries.sum())},
        "faults": _faults(cols, settings.fault_names),
        "recovery": recovery_metrics(cols, fault_windows, sim_seconds=sim_seconds,
                                     never_ending=settings.never_ending),
        "client": client_metrics(cols),
    }
    shadow = shadow_metrics(cols)
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

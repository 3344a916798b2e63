"""Every metric path a scenario's `expect:` may name, known before the run.

Used when a scenario is loaded, so a typo such as `routing.acuracy` is an error with a
line number and a suggestion instead of a failed SLO an hour of simulated time later.
"""

from __future__ import annotations

import difflib
from typing import TYPE_CHECKING

from ..records import STATUSES
from ..world.client_audit import KINDS as CLIENT_KINDS
from .latency import END_TO_END, PARTS
from .recovery import FIELDS as RECOVERY_FIELDS
from .shadow import FIELDS as SHADOW_FIELDS

if TYPE_CHECKING:
    from ..scenario import Scenario

SLA_PATH = "latency.sla_breach_rate"

STATIC: frozenset[str] = frozenset({
    *(f"tickets.{k}" for k in ("total", *STATUSES, "failed", "failure_rate")),
    *(f"routing.{k}" for k in ("accuracy", "macro_f1", "micro_f1",
                               "accuracy_excluding_review", "review_rate")),
    *(f"escalation.{k}" for k in ("precision", "recall", "missed", "missed_high_value",
                                  "false_escalations")),
    *(f"latency.{k}" for k in (*END_TO_END, "mean_wait", "mean_service")),
    *(f"latency.{part}.{k}" for part in ("wait", "service") for k in PARTS),
    *(f"cost.{k}" for k in ("total_usd", "per_ticket_usd", "per_hour_usd", "per_resolved_usd",
                            "tokens_in", "tokens_out", "tokens_per_ticket", "human_reviews",
                            "human_review_usd", "total_with_review_usd")),
    *(f"calls.{k}" for k in ("total", "per_ticket", "retries")),
    *(f"client.{k}" for k in (*CLIENT_KINDS, "tickets_flagged")),
})
PER_ROUTE = ("precision", "recall", "f1", "support")


def metric_paths(scenario: Scenario) -> set[str]:
    """Static paths plus those named after the scenario's routes, tags and faults.

    Only numbers are listed (not `routing.confusion`). A listed path can still lack a
    value in a run that has no tickets it applies to (a tag no ticket carried).
    """
    from ..scenario import TAGS  # lazily: the scenario module imports this one lazily too

    out = set(STATIC)
    routes = dict.fromkeys(r for source in scenario.traffic for r in source.routes)
    out |= {f"routing.per_route.{r}.{k}" for r in routes for k in PER_ROUTE}
    out |= {f"routing.by_route.{r}" for r in routes}
    out.add("routing.labelled")
    if any(source.replay is not None and (source.replay.columns.past_route is not None
                                          or source.replay.columns.past_escalate is not None)
           for source in scenario.traffic):
        out |= {f"shadow.{k}" for k in SHADOW_FIELDS}
    out |= {f"routing.{cut}.{t}" for cut in ("by_tag", "by_tag_f1") for t in TAGS}
    names = [f.name for f in scenario.faults if f.name is not None]
    if names:
        out |= {"routing.accuracy@faults", "routing.accuracy@baseline"}
    for name in names:
        out |= {f"routing.accuracy@fault:{name}", f"faults.{name}",
                *(f"recovery.{name}.{k}" for k in RECOVERY_FIELDS)}
    if scenario.world.sla is not None:
        out.add(SLA_PATH)
    return out


def unknown_path_message(path: str, valid: set[str]) -> str:
    """Why `path` is not a metric, with the closest valid path when there is one."""
    if path == SLA_PATH:
        return f"metric {path!r} needs world.sla (the time to a decision customers expect)"
    close = difflib.get_close_matches(path, sorted(valid), n=1, cutoff=0.6)
    if close:
        return f"unknown metric {path!r}; did you mean {close[0]!r}?"
    sections = sorted({p.split(".", 1)[0] for p in valid})
    return f"unknown metric {path!r} (metric paths start with: {', '.join(sections)})"

"""Run several agents through several scenarios and tabulate the headline figures."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .api import as_scenario, run
from .checks import check_run
from .result import Result

REFERENCE_AGENTS = ("simharness.agents.reference:NaiveRouter",
                    "simharness.agents.reference:ResilientRouter")


@dataclass(frozen=True)
class Row:
    """One agent on one scenario."""

    scenario: str
    agent: str
    tickets: int
    accuracy: float
    accuracy_in_faults: float | None
    errors: int
    failed: int
    cost_per_ticket: float
    p95: float
    passed: bool

    @classmethod
    def of(cls, scenario: str, agent: str, result: Result) -> Row:
        m = result.metrics
        return cls(scenario=scenario, agent=agent, tickets=m["tickets"]["total"],
                   accuracy=m["routing"]["accuracy"],
                   accuracy_in_faults=m["routing"].get("accuracy@faults"),
                   errors=m["tickets"]["error"], failed=m["tickets"]["failed"],
                   cost_per_ticket=m["cost"]["per_ticket_usd"], p95=m["latency"]["p95"],
                   passed=result.passed)


def compare(scenarios: Sequence[str | Path], agents: Sequence[str] = REFERENCE_AGENTS,
            seed: int | None = None,
            on_row: Callable[[Row], None] | None = None,
            max_tickets: int | None = None) -> list[Row]:
    """Every agent on every scenario, same seed, so they meet the same traffic and faults."""
    loaded = [as_scenario(path) for path in scenarios]
    for scenario in loaded:  # refuse a bad one before running any
        check_run(scenario, max_tickets)
    rows = []
    for scenario in loaded:
        for agent in agents:
            row = Row.of(scenario.name, agent.rpartition(":")[2] or agent,
                         run(scenario, agent=agent, seed=seed, max_tickets=max_tickets))
            rows.append(row)
            if on_row is not None:
                on_row(row)
    return rows


def _cell(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    return format(value, spec)


HEADER = ("scenario", "agent", "tickets", "accuracy", "accuracy in faults",
          "unhandled errors", "failed tickets", "cost/ticket (USD)", "p95 latency (s)", "SLOs")


def cells(row: Row) -> tuple[str, ...]:
    return (row.scenario, row.agent, str(row.tickets), _cell(row.accuracy, ".3f"),
            _cell(row.accuracy_in_faults, ".3f"), str(row.errors), str(row.failed),
            _cell(row.cost_per_ticket, ".5f"), _cell(row.p95, ".2f"),
            "pass" if row.passed else "FAIL")


def to_markdown(rows: Sequence[Row]) -> str:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    lines += ["| " + " | ".join(cells(r)) + " |" for r in rows]
    return "\n".join(lines)

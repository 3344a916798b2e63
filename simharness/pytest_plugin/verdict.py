"""Running a scenario test's seeds and saying what happened: the short failure report
(failed SLOs, seeds, report path, the command that reproduces it), per-seed verdicts, and
the headline metrics that go into JUnit XML."""

from __future__ import annotations

import math
import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..result import Result
    from ..scenario import Scenario

#: JUnit property name -> metric path (the headline figures CI dashboards chart).
HEADLINE = {
    "routing.accuracy": "routing.accuracy",
    "routing.accuracy@faults": "routing.accuracy@faults",
    "latency.p95": "latency.p95",
    "cost.per_ticket_usd": "cost.per_ticket_usd",
    "tickets.failed": "tickets.failed",
}


class SLOFailure(Exception):
    """A scenario test whose SLOs failed on at least one seed; the message is the report."""


@dataclass
class SeedRun:
    seed: int
    result: Result
    out: Path | None


@dataclass
class ScenarioRuns:
    """Every seeded run of one scenario test and how to reproduce each."""

    scenario: Scenario
    runs: list[SeedRun]
    source: str  # the scenario file as the user would type it, or "" for a dict/object
    agent: str | None
    scale: float = 1.0
    original_duration: float | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(run.result.passed for run in self.runs)

    def pass_hat(self) -> dict[int, float]:
        from ..sweep import pass_hat_k

        return pass_hat_k(len(self.runs), sum(run.result.passed for run in self.runs))

    def reproduce(self, run: SeedRun) -> str:
        """One shell command that reruns exactly this seed (the scaled file when scaled)."""
        if self.scale != 1 and run.out is not None:
            target = str(run.out / "scenario.yaml")
        else:
            target = self.source or "<your scenario>"
        words = ["simharness", "run", target, "--seed", str(run.seed)]
        if self.agent:
            words += ["--agent", self.agent]
        return shlex.join(words)

    # -- what the reports show ---------------------------------------------------------
    def header(self) -> str:
        text = f"scenario {self.scenario.name!r}"
        if self.source:
            text += f" ({self.source})"
        if self.agent:
            text += f" with agent {self.agent}"
        if self.scale != 1 and self.original_duration is not None:
            from ..units import format_duration

            text += (f", scaled by --sim-scale {self.scale:g} to "
                     f"{format_duration(self.scenario.duration)} (from "
                     f"{format_duration(self.original_duration)})")
        return text

    def verdicts(self) -> str:
        """Per-seed verdicts and pass^1 / pass^k (the report section of every item)."""
        lines = [self.header()]
        for run in self.runs:
            failed = [s for s in run.result.slos if not s.passed]
            verdict = "pass" if not failed else f"FAIL ({len(failed)} of "
            if failed:
                verdict += f"{len(run.result.slos)} SLOs)"
            lines.append(f"  seed {run.seed}: {verdict}  {run.result.summary()}")
        k = len(self.runs)
        hats = self.pass_hat()
        lines.append(f"  pass^1 = {hats[1]:.2f}" + (f", pass^{k} = {hats[k]:.2f}" if k > 1 else ""))
        for run in self.runs:
            if run.out is not None:
                lines.append(f"  report (seed {run.seed}): {run.out / 'report.html'}")
        return "\n".join(lines)

    def failure_report(self) -> str:
        """Short and actionable: failed SLOs per failing seed, report, reproduce command."""
        failing = [run for run in self.runs if not run.result.passed]
        first = [s for s in failing[0].result.slos if not s.passed] if failing else []
        shown = "; ".join(f"{s.metric} = {'no value' if s.value is None else f'{s.value:.4g}'}"
                          f" (expected {s.bound})" for s in first[:3])
        more = f" and {len(first) - 3} more" if len(first) > 3 else ""
        seeds = ", ".join(str(r.seed) for r in failing)
        lines = [f"SLO failed on seed {seeds}: {shown}{more}", self.header()]
        if len(self.runs) > 1:
            k = len(self.runs)
            hats = self.pass_hat()
            lines.append(f"failed on {len(failing)} of {k} seeds "
                         f"({', '.join(str(r.seed) for r in failing)}): "
                         f"pass^1 = {hats[1]:.2f}, pass^{k} = {hats[k]:.2f}")
        for run in failing:
            failed = [s for s in run.result.slos if not s.passed]
            lines.append(f"seed {run.seed}: {len(failed)} of {len(run.result.slos)} SLOs failed")
            lines.append(_table(failed))
            if run.out is not None:
                lines.append(f"report: {run.out / 'report.html'}")
            lines.append(f"reproduce: {self.reproduce(run)}")
        lines += self.notes
        return "\n".join(lines)

    def properties(self) -> list[tuple[str, Any]]:
        """JUnit XML properties: the headline metrics (mean over seeds), seeds and pass^k."""
        from ..metrics import lookup

        props: list[tuple[str, Any]] = [("scenario", self.scenario.name),
                                        ("seeds", " ".join(str(r.seed) for r in self.runs))]
        if self.agent:
            props.append(("agent", self.agent))
        if self.scale != 1:
            props.append(("scale", self.scale))
        for name, path in HEADLINE.items():
            values = []
            for run in self.runs:
                try:
                    value = lookup(run.result.metrics, path)
                except KeyError:
                    continue
                if isinstance(value, int | float) and math.isfinite(value):
                    values.append(float(value))
            if values:
                props.append((name, _number(sum(values) / len(values))))
        k = len(self.runs)
        hats = self.pass_hat()
        props.append(("pass^1", round(hats[1], 4)))
        if k > 1:
            props.append((f"pass^{k}", round(hats[k], 4)))
        props.append(("passed", self.passed))
        return props


def _table(slos: list[Any]) -> str:
    rows = [("metric", "value", "bound")]
    for slo in slos:
        value = "no value" if slo.value is None else f"{slo.value:.4g}"
        rows.append((slo.metric, value, slo.bound))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    out = ["  " + "  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip()
           for row in rows]
    out += [f"  ({slo.metric}: {slo.message})" for slo in slos if slo.value is None]
    return "\n".join(out)


def _number(value: float) -> float | int:
    return int(value) if value.is_integer() else round(value, 6)


def run_seeds(scenario: Scenario, seeds: list[int], agent: Any, out_base: Path | None,
              write_reports: bool = True) -> list[SeedRun]:
    """Run the scenario once per seed; save each run (and its report) under `out_base`."""
    from ..api import run
    from ..report.html import write_report

    runs = []
    for seed in seeds:
        result = run(scenario, agent=agent, seed=seed)
        out = None
        if out_base is not None:
            out = result.save(out_base / f"{scenario.name}-seed{seed}")
            if write_reports:
                write_report(result, out)
        runs.append(SeedRun(seed, result, out))
    return runs

"""The outcome of a run: per-ticket records, metrics, SLO verdicts, and saving them."""

from __future__ import annotations

import difflib
import json
import math
import platform
from collections.abc import Collection
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import metrics as metrics_mod
from .engine import RunOutput
from .metrics.catalog import metric_paths
from .records import TicketRecord
from .scenario import Scenario
from .slo import parse_bound

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .report.plots import PlotInput


@dataclass(frozen=True)
class SLOResult:
    """One `expect:` entry checked against the run."""

    metric: str
    bound: str
    value: float | None
    passed: bool
    message: str

    @property
    def name(self) -> str:
        """The metric path (what reports show as the SLO's name)."""
        return self.metric


def _clean(value: Any) -> Any:
    """JSON has no NaN/inf: write them as null so every reader can load the file."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    return value


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for pkg in ("simharness", "simpy", "httpx", "greenlet", "numpy", "pydantic"):
        try:
            out[pkg] = version(pkg)
        except PackageNotFoundError:
            out[pkg] = "unknown"
    return out


def _unknown_labels(routes: Collection[str], records: list[TicketRecord]) -> dict[str, int]:
    """Predicted labels that are not routes: usually an agent returning the model's raw
    JSON text instead of the route in it, which otherwise only shows as low accuracy."""
    known = {"human_review", *routes}
    counts: dict[str, int] = {}
    for record in records:
        for label in record.pred_route:
            if label not in known:
                counts[label] = counts.get(label, 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5])


def evaluate_slos(expect: dict[str, str], metrics: dict[str, Any], seed: int,
                  known: Collection[str] = ()) -> list[SLOResult]:
    """Check each `expect:` bound. A missing or non-numeric metric fails with a message
    (`known`: paths the scenario allows, which a run may still lack, e.g. an absent tag)."""
    results = []
    for path, text in expect.items():
        bound = parse_bound(text)
        try:
            value = metrics_mod.lookup(metrics, path)
        except KeyError:
            if path in known:
                message = f"metric {path!r} has no value in this run (no tickets it covers)"
            else:
                close = difflib.get_close_matches(path, metrics_mod.paths(metrics), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                message = f"unknown metric {path!r}{hint}"
            results.append(SLOResult(path, str(bound), None, False, message))
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            results.append(SLOResult(path, str(bound), None, False,
                                     f"metric {path!r} is not a number"))
            continue
        value = float(value)
        passed = bound.check(value)
        verdict = "ok" if passed else "FAILED"
        results.append(SLOResult(path, str(bound), value, passed,
                                 f"{path} = {value:.4g} (expected {bound}) {verdict}; "
                                 f"reproduce with --seed {seed}"))
    return results


class Plotter:
    """`result.plot.<figure>()`: the report's figures for a live run, as matplotlib Figures.

    matplotlib is imported on first use, so runs that never plot do not pay for it.
    """

    def __init__(self, result: Result) -> None:
        self._result = result

    def _input(self) -> PlotInput:
        from .report.plots import PlotInput

        r = self._result
        return PlotInput(r.records, r.metrics, r.fault_windows, r.scenario.duration)

    def accuracy_over_time(self, *, bin_s: float | None = None) -> Figure:
        """Routing accuracy and failed tickets per arrival bin, fault windows shaded."""
        from .report import plots

        return plots.accuracy_over_time(self._input(), bin_s=bin_s)

    def latency_over_time(self, *, bin_s: float | None = None) -> Figure:
        """Latency p50/p95/p99 per arrival bin, fault windows shaded."""
        from .report import plots

        return plots.latency_over_time(self._input(), bin_s=bin_s)

    def cumulative_cost(self) -> Figure:
        """Money spent over simulated time, against the pre-fault spending rate."""
        from .report import plots

        return plots.cumulative_cost(self._input())

    def confusion_heatmap(self) -> Figure:
        """True vs predicted route, from `routing.confusion`."""
        from .report import plots

        return plots.confusion_heatmap(self._input())

    def recovery(self) -> Figure:
        """Per fault: time to detect and recover, failed tickets in the window."""
        from .report import plots

        return plots.recovery(self._input())


class Result:
    """Records, metrics and SLO verdicts of one run."""

    def __init__(self, scenario: Scenario, output: RunOutput) -> None:
        self.scenario = scenario
        self.seed = output.seed
        #: False when the run was interrupted (Ctrl-C): everything covers what finished.
        self.complete = not output.interrupted
        self.records: list[TicketRecord] = output.records
        self.fault_windows = output.fault_windows
        self.metrics: dict[str, Any] = metrics_mod.compute(
            output.records, sim_seconds=scenario.duration if self.complete else output.sim_end,
            fault_windows=output.fault_windows, config=scenario)
        self.slos = evaluate_slos(scenario.expect, self.metrics, output.seed,
                                  known=metric_paths(scenario) if scenario.expect else ())
        self.diagnostics: dict[str, Any] = {
            "blocked_hosts": output.blocked_hosts, "warnings": output.warnings,
            "hung_interrupts": output.hung_interrupts, "simulated_seconds": output.sim_end,
            "stopped_early": output.stopped, "hangs": output.hangs or [],
            "threads_started": output.threads_started,
            "background_hosts": output.background_hosts or {},
            "unknown_labels": _unknown_labels(output.routes, output.records)}
        replays = [report for report in output.traffic if report is not None]
        if replays:
            self.diagnostics["replay"] = replays
        if output.tools:
            self.diagnostics["tools"] = output.tools
        self.run_info = {"wall_seconds": round(output.wall_seconds, 3), "versions": _versions(),
                         "tickets_per_second": round(len(output.records)
                                                     / max(output.wall_seconds, 1e-9), 1)}

    @property
    def stopped_early(self) -> str | None:
        """Why the run stopped before its end (e.g. the agent kept hanging), or None."""
        stopped: str | None = self.diagnostics["stopped_early"]
        return stopped

    @property
    def passed(self) -> bool:
        """All SLOs met, on a run that went to its end."""
        return self.complete and self.stopped_early is None and \
            all(s.passed for s in self.slos)

    @property
    def plot(self) -> Plotter:
        """The report's figures: `result.plot.accuracy_over_time()` and friends."""
        return Plotter(self)

    def rows(self) -> list[dict[str, Any]]:
        """The records as plain dicts (one per ticket)."""
        return [r.to_dict() for r in self.records]

    def to_pandas(self) -> Any:
        import pandas as pd  # optional dependency

        return pd.DataFrame(self.rows())

    def to_json(self) -> dict[str, Any]:
        return _clean({
            "scenario": self.scenario.name,
            "seed": self.seed,
            "complete": self.complete,
            "passed": self.passed,
            "metrics": self.metrics,
            "slos": [s.__dict__ for s in self.slos],
            "fault_windows": [{"name": n, "start": s, "end": e} for n, s, e in self.fault_windows],
            "diagnostics": self.diagnostics,
            "run": self.run_info,
        })

    def save(self, directory: str | Path) -> Path:
        """Write `results.json`, `records.jsonl` and `scenario.yaml` (the scenario as loaded,
        so the directory describes itself) into `directory` (created if needed)."""
        from .report.store import scenario_text

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "scenario.yaml").write_text(scenario_text(self.scenario), encoding="utf-8")
        (out / "results.json").write_text(json.dumps(self.to_json(), indent=2) + "\n")
        with (out / "records.jsonl").open("w") as fh:
            for row in self.rows():
                fh.write(json.dumps(_clean(row)) + "\n")
        return out

    def summary(self) -> str:
        m = self.metrics
        return (f"{self.scenario.name}: {m['tickets']['total']} tickets, "
                f"accuracy {m['routing']['accuracy']:.3f}, p95 {m['latency']['p95']:.2f}s, "
                f"cost/ticket ${m['cost']['per_ticket_usd']:.5f}, "
                f"{'PASSED' if self.passed else 'FAILED'}"
                f"{'' if self.complete else ' (interrupted: partial run)'}")

    def __repr__(self) -> str:
        return f"<Result {self.summary()}>"

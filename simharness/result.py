"""The outcome of a run: per-ticket records, metrics, SLO verdicts, and saving them."""

from __future__ import annotations

import difflib
import json
import math
import platform
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from . import metrics as metrics_mod
from .agents.identity import AgentIdentity, identify
from .columns import Columns
from .engine import RunOutput
from .errors import ScenarioError
from .metrics.catalog import metric_paths
from .metrics.routing import REVIEW_ROUTE
from .records import TicketRecord
from .scenario import Scenario
from .slo import parse_bound

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from .report.digest import RunDigest
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


#: Distinct labels counted before "and more" (keeps a free-text agent's run small).
MAX_DISTINCT_UNKNOWN = 100_000
#: Examples of unknown labels kept in the diagnostics.
UNKNOWN_EXAMPLES = 10


def _unknown_labels(routes: Collection[str], cols: Columns) -> dict[str, Any]:
    """Predicted labels that are not routes: usually an agent returning the model's raw
    JSON text or a sentence instead of the route in it, which otherwise only shows as low
    accuracy. Counts tickets and distinct labels, with the most frequent as examples
    (the first MAX_DISTINCT_UNKNOWN distinct labels to occur are counted)."""
    known = {REVIEW_ROUTE, *routes, *cols.labels_in(cols.true_route)}
    odd = np.array([any(label not in known for label in values) for values in cols.values]
                   or [False], dtype=bool)
    rows = np.flatnonzero(odd[cols.pred_route])  # usually none: no work for a big run
    codes, first_index, per_code = np.unique(cols.pred_route[rows], return_index=True,
                                             return_counts=True)
    first_row = rows[first_index]
    totals: dict[str, int] = {}
    first: dict[str, tuple[int, int]] = {}  # label -> (row, position) of its first use
    tickets = 0
    for code, row, count in zip(codes.tolist(), first_row.tolist(), per_code.tolist(),
                                strict=True):
        unknown = [label for label in cols.values[code] if label not in known]
        if not unknown:
            continue
        tickets += count
        for position, label in enumerate(unknown):
            totals[label] = totals.get(label, 0) + count
            first[label] = min(first.get(label, (row, position)), (row, position))
    counted = sorted(totals, key=first.__getitem__)[:MAX_DISTINCT_UNKNOWN]
    more = len(totals) > MAX_DISTINCT_UNKNOWN
    counts = {label: totals[label] for label in counted}
    top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:UNKNOWN_EXAMPLES]
    return {"tickets": tickets, "distinct": len(counts), "distinct_capped": more,
            "examples": {label[:80]: count for label, count in top}}


def evaluate_slos(expect: dict[str, str], metrics: dict[str, Any], seed: int,
                  known: Collection[str] = (), agent_ref: str | None = None) -> list[SLOResult]:
    """Check each `expect:` bound. A missing or non-numeric metric fails with a message
    (`known`: paths the scenario allows, which a run may still lack, e.g. an absent tag).
    A run without tickets fails every bound: it measured nothing."""
    results = []
    reproduce = f"reproduce with --seed {seed}" + (f" --agent {agent_ref}" if agent_ref else "")
    tickets = metrics.get("tickets")
    empty = isinstance(tickets, dict) and tickets.get("total") == 0
    for path, text in expect.items():
        bound = parse_bound(text)
        if empty:
            results.append(SLOResult(path, str(bound), None, False,
                                     f"{path}: no data (no ticket arrived in this run, so "
                                     "nothing was measured)"))
            continue
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
                                 f"{reproduce}"))
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
        return PlotInput(r.digest.timeline, r.metrics, r.fault_windows, r.scenario.duration)

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
    """Records, metrics and SLO verdicts of one run, and the agent that ran.

    The records stream to disk during the run (see record_store.py); metrics are
    computed from their columns. `records` reads them back on first use (a list, kept);
    `iter_records()` streams them without holding them all.
    """

    def __init__(self, scenario: Scenario, output: RunOutput,
                 agent: AgentIdentity | None = None) -> None:
        self.scenario = scenario
        self.seed = output.seed
        #: False when the run was interrupted (Ctrl-C): everything covers what finished.
        self.complete = not output.interrupted
        self.agent = agent or identify(None, scenario.agent.ref or scenario.agent.http)
        self.store = output.records
        self.fault_windows = output.fault_windows
        self._digest: RunDigest | None = None
        columns = output.records.columns
        self.metrics: dict[str, Any] = metrics_mod.compute(
            columns, sim_seconds=scenario.duration if self.complete else output.sim_end,
            fault_windows=output.fault_windows, config=scenario)
        self.slos = evaluate_slos(scenario.expect, self.metrics, output.seed,
                                  known=metric_paths(scenario) if scenario.expect else (),
                                  agent_ref=self.agent.ref)
        self.diagnostics: dict[str, Any] = {
            "blocked_hosts": output.blocked_hosts, "warnings": output.warnings,
            "hung_interrupts": output.hung_interrupts, "simulated_seconds": output.sim_end,
            "stopped_early": output.stopped, "hangs": output.hangs or [],
            "threads_started": output.threads_started,
            "background_hosts": output.background_hosts or {},
            "unknown_labels": _unknown_labels(output.routes, columns)}
        del columns
        output.records.release_columns()
        replays = [report for report in output.traffic if report is not None]
        if replays:
            self.diagnostics["replay"] = replays
        if output.tools:
            self.diagnostics["tools"] = output.tools
        self.run_info = {"wall_seconds": round(output.wall_seconds, 3), "versions": _versions(),
                         "tickets_per_second": round(len(output.records)
                                                     / max(output.wall_seconds, 1e-9), 1)}

    @property
    def records(self) -> list[TicketRecord]:
        """Every ticket's record, in arrival order. A run whose records went to disk reads
        them back here, once (a million records take about a gigabyte: prefer
        `iter_records()` for big runs)."""
        return self.store.load()

    def iter_records(self) -> Iterator[TicketRecord]:
        """The records in arrival order, read from disk a batch at a time."""
        return iter(self.store)

    @property
    def digest(self) -> RunDigest:
        """What the report, the plots and the summary show of the records: a few numbers
        per ticket, counts, and the few records its tables list, gathered by streaming the
        records (once, on first use; see report/digest.py)."""
        if self._digest is None:
            from .report.digest import RunDigest
            from .report.store import saved_form

            self._digest = RunDigest(self.iter_records, self.fault_windows, keep=saved_form)
        return self._digest

    @property
    def stopped_early(self) -> str | None:
        """Why the run stopped before its end (e.g. the agent kept hanging), or None."""
        stopped: str | None = self.diagnostics["stopped_early"]
        return stopped

    @property
    def measured_nothing(self) -> bool:
        """No ticket arrived: there is no figure to judge, so the run cannot pass."""
        return len(self.store) == 0

    @property
    def passed(self) -> bool:
        """All SLOs met, on a run that went to its end and measured something."""
        return (self.complete and self.stopped_early is None and not self.measured_nothing
                and all(s.passed for s in self.slos))

    @property
    def plot(self) -> Plotter:
        """The report's figures: `result.plot.accuracy_over_time()` and friends."""
        from .report.notebook import show_figures_inline

        show_figures_inline()
        return Plotter(self)

    def reproduce_command(self, scenario_file: str | Path | None = None) -> str:
        """The command that runs this again: the scenario file (default: the one loaded),
        the seed, and the agent."""
        path = str(scenario_file or self.scenario.source)
        command = f"simharness run {path} --seed {self.seed}"
        if self.agent.ref:
            command += f" --agent {self.agent.ref}"
        return command

    def scenario_as_run(self) -> Scenario:
        """The scenario with `agent.ref` naming the agent that ran (when it has a ref)."""
        ref = self.agent.ref
        if ref is None or ref == self.scenario.agent.ref:
            return self.scenario
        try:
            return self.scenario.with_overrides({"agent.ref": ref})
        except ScenarioError:  # a reference the scenario format does not accept
            return self.scenario

    def rows(self) -> list[dict[str, Any]]:
        """The records as plain dicts (one per ticket)."""
        return [r.to_dict() for r in self.iter_records()]

    def to_pandas(self) -> Any:
        """The records as a DataFrame, one row per ticket (needs the `pandas` extra)."""
        from .report.notebook import require_pandas

        return require_pandas().DataFrame(self.rows())

    def _repr_html_(self) -> str:
        """Jupyter's view: verdict, headline metrics, SLOs and fault windows."""
        from .report.notebook import result_html

        return result_html(self)

    def to_json(self) -> dict[str, Any]:
        return _clean({
            "scenario": self.scenario.name,
            "seed": self.seed,
            "complete": self.complete,
            "agent": self.agent.to_json(),
            "passed": self.passed,
            "metrics": self.metrics,
            "slos": [s.__dict__ for s in self.slos],
            "fault_windows": [{"name": n, "start": s, "end": e} for n, s, e in self.fault_windows],
            "diagnostics": self.diagnostics,
            "run": self.run_info,
        })

    def save(self, directory: str | Path) -> Path:
        """Write `results.json`, `records.jsonl` and `scenario.yaml` (the scenario as run,
        its `agent.ref` naming the agent that ran, so the directory describes itself) into
        `directory` (created if needed)."""
        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        (out / "scenario.yaml").write_text(self.scenario_file_text(), encoding="utf-8")
        (out / "results.json").write_text(json.dumps(self.to_json(), indent=2) + "\n")
        with (out / "records.jsonl").open("w") as fh:
            for record in self.iter_records():
                fh.write(json.dumps(_clean(record.to_dict())) + "\n")
        return out

    def scenario_file_text(self) -> str:
        """The `scenario.yaml` that `save` writes: the scenario as run, headed by a note
        when the agent did not come from it."""
        from .report.store import scenario_text

        return self._agent_note() + scenario_text(self.scenario_as_run())

    def _agent_note(self) -> str:
        """A comment heading the saved scenario when the agent did not come from it."""
        if self.agent.given == "scenario":
            return ""
        if self.agent.ref is None:
            return (f"# This run's agent was an object of {self.agent.cls or 'unknown type'}, "
                    "passed in Python;\n# it cannot be imported by name, so agent.ref below "
                    "is NOT the agent that ran.\n")
        how = "an object passed in Python" if self.agent.given == "object" else "an override"
        return f"# This run's agent ({how}): {self.agent.ref}\n"

    def summary(self) -> str:
        m = self.metrics
        return (f"{self.scenario.name} ({self.agent.label}): {m['tickets']['total']} tickets, "
                f"accuracy {m['routing']['accuracy']:.3f}, p95 {m['latency']['p95']:.2f}s, "
                f"cost/ticket ${m['cost']['per_ticket_usd']:.5f}, "
                f"{'PASSED' if self.passed else 'FAILED'}"
                f"{'' if self.complete else ' (interrupted: partial run)'}")

    def __repr__(self) -> str:
        return f"<Result {self.summary()}>"

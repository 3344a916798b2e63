"""Sweeps: one scenario over a grid of overrides x seeds, summarised across seeds.

A single run says little about an agent whose luck depends on the seed, so a sweep runs
every grid point (the Cartesian product of override values) with several seeds and reports,
per point, the mean of every metric with a 95 % confidence interval and pass^k (the
probability that k seeded runs all pass the SLOs). Runs are independent, so they go to a
local process pool by default, to a Dask cluster for more machines, or run in this process
(`executor="serial"`) for debugging. Every run is seeded, so every executor gives the same
rows: they are sorted by (grid point, seed) whatever order the runs finish in.

    sw = sweep("scenarios/baseline.yaml", {"traffic[0].synthetic.rate": ["1/s", "4/s"]}, 10)
    sw.summary[0]["metrics"]["routing.accuracy"]  # {"mean": ..., "ci_low": ..., ...}
    sw.save("runs/baseline-sweep")                # sweep.csv, sweep.json, sweep-*.png
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import math
import multiprocessing
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel
from rich.console import Console

from .api import as_scenario, check_seed, run
from .checks import run_errors
from .errors import AgentError, ErrorLocation, ScenarioError, SimHarnessError
from .scenario import Scenario, parse_path, scenario_from_dict
from .vclock import wall_clock

if TYPE_CHECKING:
    from .report.sweep_plots import SweepPlots

__all__ = [
    "SweepError", "SweepProgress", "SweepResult", "flatten_metrics", "mean_ci",
    "parse_grid_arg", "parse_value", "pass_hat_k", "run_point", "run_sweep_command",
    "sweep", "t_quantile_975",
]

#: progress(runs_done, runs_total)
SweepProgress = Callable[[int, int], None]
Executor = Literal["process", "dask", "serial"]

#: Metric subtrees that are tables, not figures to average (skipped when flattening).
_TABLE_KEYS = frozenset({"confusion", "confusion_matrix"})


class SweepError(SimHarnessError, ValueError):
    """A sweep that cannot run as asked: a bad grid, seed list or executor choice."""


# --------------------------------------------------------------------------- grid and seeds

def parse_value(text: str) -> Any:
    """A CLI grid value as if written in the scenario file: "0.1" -> 0.1, "2/s" stays text."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    return value if isinstance(value, bool | int | float) or value is None else text


def parse_grid_arg(text: str) -> tuple[str, list[Any]]:
    """`PATH=V1,V2,...` -> (PATH, [values]). Values are split on every comma (a value
    cannot contain one) and read with `parse_value`."""
    path, sep, values = text.partition("=")
    path = path.strip()
    if not sep or not path:
        raise SweepError(f"--grid {text!r}: expected PATH=V1,V2,... "
                         "e.g. traffic[0].synthetic.rate=1/s,2/s")
    items = [v.strip() for v in values.split(",")]
    if not values.strip() or any(not v for v in items):
        raise SweepError(f"--grid {text!r}: empty value in the list after '{path}='")
    return path, [parse_value(v) for v in items]


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    """The Cartesian product in grid order (the last path varies fastest); {} -> one point."""
    paths = list(grid)
    return [dict(zip(paths, combo, strict=True))
            for combo in itertools.product(*(list(grid[p]) for p in paths))]


def seed_list(scenario: Scenario, seeds: int | Sequence[int]) -> list[int]:
    """`seeds=n` -> scenario.seed + 0, ..., scenario.seed + n - 1; a sequence is used as is."""
    if isinstance(seeds, bool):
        raise SweepError("seeds must be a count or a list of seeds")
    if isinstance(seeds, int):
        if seeds < 1:
            raise SweepError(f"seeds must be at least 1, got {seeds}")
        return [scenario.seed + i for i in range(seeds)]
    out = [_one_seed(s) for s in seeds]
    if not out:
        raise SweepError("the seed list is empty")
    if len(set(out)) != len(out):
        raise SweepError(f"the seed list repeats a seed: {out}")
    return out


def _one_seed(value: Any) -> int:
    seed = check_seed(value, "seeds")
    if seed is None:
        raise SweepError("seeds must be whole numbers, got None")
    return seed


def _check_grid(grid: Mapping[str, Sequence[Any]]) -> dict[str, list[Any]]:
    checked: dict[str, list[Any]] = {}
    for path, values in grid.items():
        if isinstance(values, str | bytes) or not isinstance(values, Sequence | range):
            raise SweepError(f"grid {path!r}: expected a list of values, got {values!r}")
        if not values:
            raise SweepError(f"grid {path!r}: no values")
        if parse_path(path) == ("seed",):
            raise SweepError("grid 'seed': seeds are set by the sweep's `seeds`, not the grid")
        checked[path] = list(values)
    return checked


def _validate_points(scenario: Scenario, points: list[dict[str, Any]],
                     max_tickets: int | None = None) -> list[Scenario]:
    """Every point, re-validated (and checked for runs that are empty or too big, see
    `checks.run_errors`) before any run starts; all problems reported at once."""
    out: list[Scenario] = []
    errors: list[ErrorLocation] = []
    for overrides in points:
        try:
            point = scenario.with_overrides(overrides) if overrides else scenario
        except ScenarioError as exc:
            errors.extend(exc.errors)
        else:
            out.append(point)
            errors.extend(run_errors(point, max_tickets))
    if errors:
        raise ScenarioError(list(dict.fromkeys(errors)))
    return out


def _resolved(scenario: Scenario, path: str) -> float | None:
    """The validated value at `path` as a number (a rate in /s, a duration in s), or None."""
    node: Any = scenario
    for part in parse_path(path):
        if isinstance(node, BaseModel):
            fields = type(node).model_fields
            name = next((n for n, f in fields.items() if part in (n, f.alias)), None)
            if name is None:
                return None
            node = getattr(node, name)
        elif isinstance(node, dict) and part in node:
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and -len(node) <= part < len(node):
            node = node[part]
        else:
            return None
    if isinstance(node, bool) or not isinstance(node, int | float):
        return None
    return float(node)


# --------------------------------------------------------------------------- one run

_RUN_LOCK = threading.Lock()  # runs patch process-wide state: one at a time per process


def flatten_metrics(metrics: Mapping[str, Any], prefix: str = "") -> dict[str, float]:
    """Numeric leaves as dotted keys (`latency.p95`); None (a figure a run could not
    measure) becomes NaN so its column stays; lists, text, flags and tables are skipped."""
    out: dict[str, float] = {}
    for key, value in metrics.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            if key not in _TABLE_KEYS:
                out.update(flatten_metrics(value, name + "."))
        elif value is None:
            out[name] = math.nan
        elif isinstance(value, int | float) and not isinstance(value, bool):
            out[name] = value
    return out


def run_point(scenario_data: dict[str, Any], source: str, overrides: dict[str, Any],
              seed: int, agent: Any = None, max_tickets: int | None = None) -> dict[str, Any]:
    """One (grid point, seed) run, as a compact row. Module-level and fed plain data, so a
    process pool or a Dask worker can call it; `agent` is a ref string (or None for the
    scenario's own) except in the serial executor."""
    start = wall_clock()
    with _RUN_LOCK:
        base = scenario_from_dict(scenario_data, filename=source)
        scenario = base.with_overrides(overrides) if overrides else base
        result = run(scenario, agent=agent, seed=seed, max_tickets=max_tickets)
    return {"seed": seed, "passed": result.passed,
            "slos": {s.metric: s.passed for s in result.slos},
            "metrics": flatten_metrics(result.metrics),
            "wall_seconds": round(wall_clock() - start, 3)}


# --------------------------------------------------------------------------- executors

Job = tuple[int, tuple[Any, ...]]  # (job index, run_point arguments)
OnResult = Callable[[int, dict[str, Any]], None]


def _run_serial(jobs: list[Job], on_result: OnResult) -> None:
    for index, job_args in jobs:
        on_result(index, run_point(*job_args))


def _mp_context() -> Any:
    """forkserver (or spawn): a fresh interpreter, never a fork of one holding greenlets,
    patched clocks or threads."""
    method = "forkserver" if "forkserver" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _run_process(jobs: list[Job], on_result: OnResult, workers: int | None) -> None:
    n = max(1, min(workers or os.cpu_count() or 1, len(jobs)))
    with ProcessPoolExecutor(max_workers=n, mp_context=_mp_context()) as pool:
        futures: dict[Future[dict[str, Any]], int] = {
            pool.submit(run_point, *job_args): index for index, job_args in jobs}
        pending = set(futures)
        try:
            while pending:
                done, pending = wait(pending, return_when=FIRST_EXCEPTION)
                for future in done:
                    on_result(futures[future], future.result())
        except BrokenProcessPool as exc:
            pool.shutdown(wait=False, cancel_futures=True)
            raise SweepError(
                f"a sweep worker process died ({exc}); a script calling sweep() must guard "
                "its top level with `if __name__ == '__main__':` (workers re-import it), "
                "and executor='serial' shows the run's own error") from exc
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise


def _run_dask(jobs: list[Job], on_result: OnResult, workers: int | None,
              scheduler: str | None) -> None:
    try:
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise SweepError("executor 'dask' needs Dask: pip install 'simharness[dask]'") from None
    import logging

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(processes=True, n_workers=workers or 2, threads_per_worker=1,
                               dashboard_address=None, silence_logs=logging.ERROR)
    client = Client(cluster if cluster is not None else scheduler)
    try:
        futures = {client.submit(run_point, *job_args, pure=False): index
                   for index, job_args in jobs}
        try:
            for future in as_completed(list(futures)):
                on_result(futures[future], future.result())
        except BaseException:
            client.cancel(list(futures))
            raise
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


# --------------------------------------------------------------------------- statistics

# Two-sided 95 % Student t quantiles t(0.975, df) for df = 1..30 (scipy.stats.t.ppf).
_T975 = (12.706204736, 4.302652730, 3.182446305, 2.776445105, 2.570581836, 2.446911851,
         2.364624252, 2.306004135, 2.262157163, 2.228138852, 2.200985160, 2.178812830,
         2.160368656, 2.144786688, 2.131449546, 2.119905299, 2.109815578, 2.100922040,
         2.093024054, 2.085963447, 2.079613845, 2.073873068, 2.068657610, 2.063898562,
         2.059538553, 2.055529439, 2.051830516, 2.048407142, 2.045229642, 2.042272456)
_Z975 = 1.959963984540054


def t_quantile_975(df: int) -> float:
    """t(0.975, df) without scipy: a table up to 30 degrees of freedom, then the
    Cornish-Fisher expansion around the normal quantile (error below 1e-7 there)."""
    if df < 1:
        raise ValueError(f"degrees of freedom must be at least 1, got {df}")
    if df <= len(_T975):
        return _T975[df - 1]
    z, v = _Z975, float(df)
    return (z + (z**3 + z) / (4 * v) + (5 * z**5 + 16 * z**3 + 3 * z) / (96 * v**2)
            + (3 * z**7 + 19 * z**5 + 17 * z**3 - 15 * z) / (384 * v**3)
            + (79 * z**9 + 776 * z**7 + 1482 * z**5 - 1920 * z**3 - 945 * z) / (92160 * v**4))


def mean_ci(values: Sequence[float]) -> dict[str, float]:
    """Mean and 95 % confidence interval (t with n-1 dof). NaN (a figure a run could not
    measure) is left out; an infinity ("never recovered") is kept, so the mean says so, and
    the interval is then unknown (NaN), as it is with a single value."""
    xs = [float(v) for v in values if v is not None and not math.isnan(v)]
    n = len(xs)
    nan = float("nan")
    if n == 0:
        return {"n": 0, "mean": nan, "std": nan, "half_width": nan, "ci_low": nan,
                "ci_high": nan}
    if not all(math.isfinite(x) for x in xs):
        mean = sum(xs) / n  # inf, -inf, or nan when both occur
        return {"n": n, "mean": mean, "std": nan, "half_width": nan, "ci_low": nan,
                "ci_high": nan}
    mean = math.fsum(xs) / n
    if n == 1:
        std = half = nan
    else:
        std = math.sqrt(math.fsum((x - mean) ** 2 for x in xs) / (n - 1))
        half = t_quantile_975(n - 1) * std / math.sqrt(n)
    return {"n": n, "mean": mean, "std": std, "half_width": half,
            "ci_low": mean - half, "ci_high": mean + half}


def pass_hat_k(n: int, c: int) -> dict[int, float]:
    """τ-bench's unbiased pass^k for k = 1..n from n runs of which c passed:
    C(c, k) / C(n, k), the chance that k runs drawn from these all passed."""
    if not 0 <= c <= n:
        raise ValueError(f"passed runs {c} must be between 0 and {n}")
    return {k: math.comb(c, k) / math.comb(n, k) for k in range(1, n + 1)}


# --------------------------------------------------------------------------- result

def _label(values: Mapping[str, Any]) -> str:
    return ", ".join(f"{p}={_text(v)}" for p, v in values.items()) or "(scenario as is)"


def _text(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value) if isinstance(value, dict | list) else str(value)


def _clean(value: Any) -> Any:
    """JSON has no NaN: write null."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


class SweepResult:
    """Rows (one per grid point x seed, sorted), per-point summaries and pass^k."""

    def __init__(self, scenario: str, grid: dict[str, list[Any]], seeds: list[int],
                 points: list[dict[str, Any]], numeric: list[dict[str, float | None]],
                 rows: list[dict[str, Any]]) -> None:
        self.scenario = scenario
        self.grid = grid
        self.seeds = seeds
        self.points = points
        #: per point, each grid value as validated (rates in /s, durations in s), for axes
        self.numeric = numeric
        self.rows = sorted(rows, key=lambda r: (r["point"], r["seed"]))
        self.summary = [self._summarise(i) for i in range(len(points))]

    def _summarise(self, point: int) -> dict[str, Any]:
        rows = [r for r in self.rows if r["point"] == point]
        names = sorted({m for r in rows for m in r["metrics"]})
        passed = sum(r["passed"] for r in rows)
        return {"point": point, "grid": self.points[point], "label": _label(self.points[point]),
                "n": len(rows), "passed": passed, "pass_hat_k": pass_hat_k(len(rows), passed),
                "metrics": {m: mean_ci([r["metrics"][m] for r in rows if m in r["metrics"]])
                            for m in names}}

    @property
    def pass_hat_k(self) -> list[dict[int, float]]:
        """pass^k per grid point (index = point), k = 1..seeds."""
        return [s["pass_hat_k"] for s in self.summary]

    @property
    def metric_names(self) -> list[str]:
        return sorted({m for r in self.rows for m in r["metrics"]})

    @property
    def plot(self) -> SweepPlots:
        """Curves across the grid: `.plot.curve(x=path, y=metric)` and named helpers."""
        from .report.notebook import show_figures_inline
        from .report.sweep_plots import SweepPlots

        show_figures_inline()
        return SweepPlots(self)

    def columns(self) -> list[str]:
        """CSV header: grid paths, seed, passed, metrics (sorted), SLO flags, wall time."""
        slos = list(dict.fromkeys(s for r in self.rows for s in r["slos"]))
        return [*self.grid, "seed", "passed", *self.metric_names,
                *(f"slo:{s}" for s in slos), "wall_seconds"]

    def to_csv(self, path: str | Path) -> Path:
        """One line per grid point x seed; an empty cell is a metric that run lacked."""
        out = Path(path)
        header = self.columns()
        with out.open("w", newline="") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(header)
            for row in self.rows:
                flat = {**{p: _text(v) for p, v in row["grid"].items()}, "seed": row["seed"],
                        "passed": row["passed"], **row["metrics"],
                        **{f"slo:{s}": ok for s, ok in row["slos"].items()},
                        "wall_seconds": row["wall_seconds"]}
                writer.writerow([flat.get(c, "") for c in header])
        return out

    def to_dict(self) -> dict[str, Any]:
        return _clean({
            "scenario": self.scenario, "grid": self.grid, "seeds": self.seeds,
            "rows": self.rows, "summary": self.summary,
            "pass_hat_k": [{"point": s["point"], "label": s["label"], "n": s["n"],
                            "passed": s["passed"], "pass_hat_k": s["pass_hat_k"]}
                           for s in self.summary],
        })

    def to_json(self, path: str | Path) -> Path:
        out = Path(path)
        out.write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        return out

    def save(self, directory: str | Path) -> list[Path]:
        """Write sweep.csv, sweep.json and one curve PNG per grid path; returns the files."""
        from .report.sweep_plots import save_overviews

        out = Path(directory)
        out.mkdir(parents=True, exist_ok=True)
        return [self.to_csv(out / "sweep.csv"), self.to_json(out / "sweep.json"),
                *save_overviews(self, out)]

    def to_pandas(self, summary: bool = False) -> Any:
        """A DataFrame: one row per run, or per grid point (means and CIs) with `summary`
        (needs the `pandas` extra)."""
        from .report.notebook import sweep_frame

        return sweep_frame(self, summary=summary)

    def _repr_html_(self) -> str:
        """Jupyter's view: each grid point's accuracy, p95 and cost with CIs, and pass^k."""
        from .report.notebook import sweep_html

        return sweep_html(self)

    def __repr__(self) -> str:
        return (f"<SweepResult {self.scenario}: {len(self.points)} grid points x "
                f"{len(self.seeds)} seeds>")


# --------------------------------------------------------------------------- the sweep

def _scenario_data(scenario: Scenario) -> dict[str, Any]:
    """The scenario as the plain data it was validated from (picklable, re-validatable)."""
    if scenario._raw is not None:
        from .scenario import _plain

        data: dict[str, Any] = _plain(scenario._raw)
        return data
    return scenario.model_dump(by_alias=True)


def _check_agent(agent: Any, executor: str, scenario: Scenario) -> None:
    if agent is not None and not isinstance(agent, str) and executor != "serial":
        raise AgentError(f"an agent object can only run with executor='serial' (runs in "
                         f"other processes import the agent): pass it as a "
                         f"'module:attr' string to use executor={executor!r}")
    ref = agent if agent is not None else (scenario.agent.ref or scenario.agent.http)
    if ref is None:
        raise AgentError("no agent: set agent.ref in the scenario or pass agent=/--agent")
    if isinstance(ref, str):
        from .agents.adapter import import_ref

        import_ref(ref)  # fail here, once, rather than in every worker


def sweep(scenario: Scenario | str | Path | dict[str, Any],
          grid: Mapping[str, Sequence[Any]] | None = None,
          seeds: int | Sequence[int] = 5, *, agent: Any = None,
          executor: Executor = "process", scheduler: str | None = None,
          workers: int | None = None, progress: SweepProgress | None = None,
          max_tickets: int | None = None) -> SweepResult:
    """Run every grid point (product of override values) with every seed.

    `grid` maps scenario paths (`traffic[0].synthetic.rate`, `faults[0].probability`,
    `agent.params.confidence_threshold`) to the values to try; values are validated like
    the file's own (`"2/s"`, `0.1`), all points before any run starts. `seeds=n` runs the
    scenario's seed + 0..n-1; a sequence gives the seeds themselves. `agent` is a
    'module:attr' ref (an object only with `executor="serial"`). `executor` is "process"
    (a local pool of `workers` processes, default CPU count), "dask" (`scheduler` address,
    or a LocalCluster of `workers` processes, default 2) or "serial" (this process).
    `progress(done, total)` is called as runs finish. A point expected to make more than
    `max_tickets` tickets (default `checks.DEFAULT_MAX_TICKETS`), or none, is refused.
    """
    if executor not in ("process", "dask", "serial"):
        raise SweepError(f"unknown executor {executor!r}; use process, dask or serial")
    if workers is not None and workers < 1:
        raise SweepError(f"workers must be at least 1, got {workers}")
    base = as_scenario(scenario)
    checked = _check_grid(grid or {})
    points = grid_points(checked)
    seed_values = seed_list(base, seeds)
    validated = _validate_points(base, points, max_tickets)
    _check_agent(agent, executor, base)

    data, source = _scenario_data(base), base.source
    keys = [(p, s) for p in range(len(points)) for s in seed_values]
    jobs: list[Job] = [(i, (data, source, points[p], s, agent, max_tickets))
                       for i, (p, s) in enumerate(keys)]
    rows: list[dict[str, Any]] = []

    def on_result(index: int, row: dict[str, Any]) -> None:
        point = keys[index][0]
        rows.append({"point": point, "grid": points[point], **row})
        if progress is not None:
            progress(len(rows), len(jobs))

    if progress is not None:
        progress(0, len(jobs))
    if executor == "serial":
        _run_serial(jobs, on_result)
    elif executor == "process":
        _run_process(jobs, on_result, workers)
    else:
        _run_dask(jobs, on_result, workers, scheduler)
    numeric = [{p: _resolved(sc, p) for p in checked} for sc in validated]
    return SweepResult(base.name, checked, seed_values, points, numeric, rows)


# --------------------------------------------------------------------------- command line

def _error(text: str) -> None:
    import sys

    for line in text.splitlines() or [""]:
        print(f"error: {line}", file=sys.stderr, flush=True)


def _grid_from_args(specs: Sequence[str]) -> dict[str, list[Any]]:
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        path, values = parse_grid_arg(spec)
        if path in grid:
            raise SweepError(f"--grid {path!r} given twice; list all its values in one --grid")
        grid[path] = values
    return grid


class _ProgressBar:
    """A rich bar over runs (done / total, elapsed, time remaining), shown from the first
    progress report on, so a sweep rejected up front prints only its error."""

    def __init__(self, console: Console, enabled: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        # Off a terminal (CI logs, pipes) a bar never redraws: plain lines instead.
        self.plain = enabled and not console.is_terminal
        self.console = console
        self.bar = (Progress(TextColumn("sweeping"), BarColumn(), MofNCompleteColumn(),
                             TextColumn("runs"), TimeElapsedColumn(), TextColumn("eta"),
                             TimeRemainingColumn(), console=console, get_time=wall_clock)
                    if enabled and not self.plain else None)
        self.task: Any = None
        self.started = self.last = wall_clock()

    def __enter__(self) -> SweepProgress | None:
        if self.plain:
            return self.plain_line
        return None if self.bar is None else self.update

    def plain_line(self, done: int, total: int) -> None:
        """`progress: 3/20 runs (41 s elapsed)` at most every PLAIN_PROGRESS_SECONDS, and
        when the last run is in."""
        from .report import console as console_mod

        now = wall_clock()
        if done < total and now - self.last < console_mod.PLAIN_PROGRESS_SECONDS:
            return
        self.last = now
        print(f"progress: {done}/{total} runs ({now - self.started:.0f} s elapsed)",
              file=self.console.file, flush=True)

    def update(self, done: int, total: int) -> None:
        assert self.bar is not None
        if self.task is None:
            self.bar.start()
            self.task = self.bar.add_task("", total=total)
        self.bar.update(self.task, completed=done, total=total)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None and self.task is not None:
            self.bar.stop()


def _pm(stat: Mapping[str, Any] | None, spec: str) -> str:
    if stat is None or math.isnan(stat["mean"]):
        return "n/a"
    if not math.isfinite(stat["half_width"]):
        return format(stat["mean"], spec)
    return f"{format(stat['mean'], spec)} ± {format(stat['half_width'], spec)}"


def print_sweep_summary(result: SweepResult, console: Console) -> None:
    """One line per grid point: its values, mean ± 95 % CI half-width of accuracy, p95 and
    cost per ticket, pass^1 and pass^n. Grid columns are headed by the path's last name
    (the CSV has the full paths) to leave room for the figures."""
    from rich import box
    from rich.table import Table

    n = len(result.seeds)
    table = Table(title=f"{result.scenario}: {len(result.points)} grid point(s) x {n} seeds, "
                        "mean ± 95% CI", box=box.SIMPLE_HEAD)
    for path in result.grid:
        last = str(parse_path(path)[-1])
        width = max(len(last), *(len(_text(v)) for v in result.grid[path]))
        table.add_column(last, no_wrap=True, min_width=width)
    table.add_column("n", justify="right", no_wrap=True)
    for name in ("accuracy", "p95 (s)", "$/ticket"):
        table.add_column(name, justify="right")  # wraps at "±" when the terminal is narrow
    for name in ("pass^1", f"pass^{n}"):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    for s in result.summary:
        m = s["metrics"]
        table.add_row(*(_text(v) for v in s["grid"].values()), str(s["n"]),
                      _pm(m.get("routing.accuracy"), ".3f"), _pm(m.get("latency.p95"), ".2f"),
                      _pm(m.get("cost.per_ticket_usd"), ".6f"),
                      f"{s['pass_hat_k'][1]:.2f}", f"{s['pass_hat_k'][s['n']]:.2f}")
    console.print(table)


def run_sweep_command(args: argparse.Namespace, console: Console) -> int:
    """`simharness sweep`: 0 when the sweep ran (SLO failures are data here), 2 on bad
    input (bad grid, scenario or agent), with `error: ...` lines and no traceback."""
    try:
        if not args.scenario.exists():
            raise SweepError(f"no such scenario file: {args.scenario}")
        if args.seeds < 1:
            raise SweepError(f"--seeds must be at least 1, got {args.seeds}")
        if args.scheduler and args.executor != "dask":
            raise SweepError("--scheduler needs --executor dask")
        grid = _grid_from_args(args.grid)
        scenario = as_scenario(args.scenario)
        with _ProgressBar(console, enabled=not args.quiet) as progress:
            result = sweep(scenario, grid, args.seeds, agent=args.agent,
                           executor=args.executor, scheduler=args.scheduler,
                           workers=args.workers, progress=progress,
                           max_tickets=getattr(args, "max_tickets", None))
    except ScenarioError as exc:
        for error in exc.errors:
            _error(str(error))
        return 2
    except SimHarnessError as exc:
        _error(str(exc))
        return 2
    out_dir = args.out or Path("runs") / f"{scenario.name}-sweep"
    try:
        files = result.save(out_dir)
    except OSError as exc:
        _error(f"cannot write the sweep to {out_dir}: {exc.strerror or exc}")
        return 2
    print_sweep_summary(result, console)
    for path in files:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)
    if hasattr(args, "no_history"):
        from .cli._record import record
        from .history import record_sweep

        record(args, lambda db: record_sweep(result, scenario, db, agent=args.agent,
                                             run_dir=out_dir))
    return 0

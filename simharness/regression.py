"""Baseline comparison: metric deltas between two runs, with a significance test per delta.

A side is what `simharness diff` is given: a run id from the history, a run directory or
a sweep directory. Each side holds one sample (seeded run) or several per grid point. When
either side has several seeds, every delta is tested, so a one-seed wobble is not called a
regression:

- the same seeds on both sides: a paired t-test over seeds (both agents met the same
  traffic and the same luck per seed, so the pairing removes that variance);
- different seeds: Welch's t-test (unequal variances);
- one run against several: whether the single value lies outside the others' 95 %
  prediction interval (a t-test with n-1 degrees of freedom).

The p-values are Holm-adjusted over the metrics tested at one grid point, so looking at
eight metrics at once does not make a false alarm eight times likelier. A delta is a
**regression** when it is significant, in the metric's worse direction (accuracy down,
latency, cost or failures up) and larger than its tolerance. With one seed per side
nothing can be tested: only an explicit tolerance can then flag a regression.
"""

from __future__ import annotations

import io
import json
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

from .errors import SimHarnessError
from .history import HEADLINE, History, HistoryError, Sample, history_path
from .metrics.direction import direction

__all__ = [
    "ALPHA", "Comparison", "Delta", "DiffError", "LATEST", "Side", "Tolerance", "compare",
    "compare_to_baseline", "find_baseline", "load_side", "parse_tolerance", "render",
    "side_from_result",
]

ALPHA = 0.05

REGRESSION, IMPROVEMENT = "regression", "improvement"
NO_CHANGE, WITHIN_TOLERANCE = "no significant change", "within tolerance"
IDENTICAL = "no change"
NOT_TESTED, MISSING = "not tested", "missing"


class DiffError(SimHarnessError):
    """A side of a comparison that cannot be read, or a bad tolerance."""


# --------------------------------------------------------------------------- sides

@dataclass
class Side:
    """One side of a comparison: samples per grid point label ('' for a plain run)."""

    name: str
    scenario: str
    groups: dict[str, list[Sample]]
    scenario_hash: str | None = None
    agent: str | None = None
    complete: bool = True
    version: str | None = None

    @property
    def seeds(self) -> int:
        return max((len(s) for s in self.groups.values()), default=0)

    def describe(self) -> str:
        """`sweep #3: baseline, reference:ResilientRouter @ git:1a2b3c4, 5 seeds`."""
        seeds = self.seeds
        parts = [self.scenario]
        if self.agent:
            module, _, attr = self.agent.partition(":")
            agent = f"{module.rsplit('.', 1)[-1]}:{attr}" if attr else self.agent
            parts.append(agent + (f" @ {self.version}" if self.version else ""))
        parts.append(f"{seeds} seed{'s' if seeds != 1 else ''}")
        return f"{self.name}: {', '.join(parts)}"


def _is_run_id(text: str) -> bool:
    return re.fullmatch(r"#?\d+", text.strip()) is not None


def load_side(ref: str | Path, history: str | Path | None = None) -> Side:
    """A side from a run directory, a sweep directory (or their results.json/sweep.json),
    or a run id in the history (`12` or `#12`; a path that exists wins)."""
    path = Path(ref)
    if path.is_file() and path.name in ("results.json", "sweep.json"):
        path = path.parent
    if path.is_dir():
        if (path / "sweep.json").is_file():
            side = _sweep_side(path)
        elif (path / "results.json").is_file():
            side = _run_dir_side(path)
        else:
            raise DiffError(f"{path} holds neither results.json (a run) nor sweep.json "
                            "(a sweep)")
        _add_provenance(side, path, history)
        return side
    text = str(ref)
    if _is_run_id(text):
        db = history_path(history)
        if db is None:
            raise DiffError(f"{text!r} looks like a run id, but the run history is off "
                            f"(pass --history PATH)")
        try:
            entry = History(db).get(int(text.strip().lstrip("#")))
        except HistoryError as exc:
            raise DiffError(str(exc)) from None
        groups: dict[str, list[Sample]] = {}
        for sample in entry.samples:
            groups.setdefault(sample.label, []).append(sample)
        return Side(f"{entry.kind} #{entry.id}", entry.scenario, groups, entry.scenario_hash,
                    entry.agent, entry.complete, entry.agent_version)
    raise DiffError(f"{text!r} is neither a run id in the history nor a run or sweep "
                    f"directory")


def _add_provenance(side: Side, path: Path, history: str | Path | None) -> None:
    """Agent and code version from the history, when the directory was recorded there."""
    db = history_path(history)
    try:
        entry = None if db is None else History(db).find_dir(path)
    except HistoryError:
        entry = None  # a directory is readable without a history
    if entry is not None:
        side.agent, side.version = entry.agent, entry.agent_version
        side.scenario_hash = side.scenario_hash or entry.scenario_hash


def _read_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DiffError(f"cannot read {path}: {exc}") from None
    if not isinstance(data, dict):
        raise DiffError(f"{path} does not hold a JSON object")
    return data


def _floats(metrics: Mapping[str, Any]) -> dict[str, float]:
    return {k: math.nan if v is None else float(v) for k, v in metrics.items()
            if v is None or (isinstance(v, int | float) and not isinstance(v, bool))}


def _run_dir_side(path: Path) -> Side:
    from .sweep import flatten_metrics

    results = _read_json(path / "results.json")
    try:
        seed = int(results["seed"])
        metrics = flatten_metrics(results.get("metrics") or {})
    except (KeyError, TypeError, ValueError) as exc:
        raise DiffError(f"{path / 'results.json'} lacks a field or has a bad value: "
                        f"{exc}") from None
    sample = Sample(seed=seed, metrics=metrics, passed=results.get("passed"))
    return Side(str(path), str(results.get("scenario", "?")), {"": [sample]},
                _dir_scenario_hash(path / "scenario.yaml"),
                complete=results.get("complete", True) is not False)


def _dir_scenario_hash(path: Path) -> str | None:
    from .history import scenario_hash
    from .scenario import scenario_from_yaml

    try:
        return scenario_hash(scenario_from_yaml(path.read_text(encoding="utf-8"), str(path)))
    except (OSError, UnicodeDecodeError, ValueError, SimHarnessError):
        return None


def _sweep_side(path: Path) -> Side:
    data = _read_json(path / "sweep.json")
    try:
        labels = {int(s["point"]): str(s["label"]) for s in data.get("summary", [])}
        several = len(labels) > 1
        groups: dict[str, list[Sample]] = {}
        for row in data["rows"]:
            point = int(row["point"])
            label = labels.get(point, str(point)) if several else ""
            groups.setdefault(label, []).append(Sample(
                seed=int(row["seed"]), metrics=_floats(row["metrics"]),
                passed=row.get("passed"), point=point, label=label))
    except (KeyError, TypeError, ValueError) as exc:
        raise DiffError(f"{path / 'sweep.json'} lacks a field or has a bad value: "
                        f"{exc}") from None
    return Side(str(path), str(data.get("scenario", "?")), groups,
                complete=data.get("complete", True) is not False)


def side_from_result(result: Any, name: str = "this run") -> Side:
    """A live `Result` (or a list of Results over seeds) as a side."""
    from .history import scenario_hash
    from .sweep import flatten_metrics

    results = list(result) if isinstance(result, Sequence) else [result]
    if not results:
        raise DiffError("no results to compare")
    samples = [Sample(seed=r.seed, metrics=flatten_metrics(r.metrics), passed=r.passed)
               for r in results]
    first = results[0]
    return Side(name, first.scenario.name, {"": samples}, scenario_hash(first.scenario))


# --------------------------------------------------------------------------- tolerances

@dataclass(frozen=True)
class Tolerance:
    """How much worse a metric may get before it counts: absolute, or relative to the
    baseline's mean (`5%`)."""

    value: float
    relative: bool = False

    def allows(self, worse_by: float, baseline: float) -> bool:
        limit = self.value * abs(baseline) if self.relative else self.value
        return worse_by <= limit

    def __str__(self) -> str:
        return f"{self.value * 100:g}%" if self.relative else f"{self.value:g}"


def parse_tolerance(text: str) -> tuple[str, Tolerance]:
    """`routing.accuracy=0.01` or `latency.p95=10%` -> (metric glob, Tolerance)."""
    metric, sep, value = text.partition("=")
    metric, value = metric.strip(), value.strip()
    if not sep or not metric or not value:
        raise DiffError(f"--tolerance {text!r}: expected METRIC=VALUE, e.g. "
                        "routing.accuracy=0.01 or latency.p95=10%")
    relative = value.endswith("%")
    try:
        number = float(value[:-1] if relative else value)
    except ValueError:
        raise DiffError(f"--tolerance {text!r}: {value!r} is not a number "
                        "(or a percentage like 10%)") from None
    if not math.isfinite(number) or number < 0:
        raise DiffError(f"--tolerance {text!r}: the tolerance must be zero or more")
    return metric, Tolerance(number / 100 if relative else number, relative)


# --------------------------------------------------------------------------- statistics

@dataclass(frozen=True)
class Test:
    """A two-sided test of `b - a`: its name, p-value and 95 % interval of the delta."""

    name: str
    p: float
    ci: tuple[float, float]


def _mean(xs: Sequence[float]) -> float:
    return math.fsum(xs) / len(xs)


def _var(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return math.fsum((x - m) ** 2 for x in xs) / (len(xs) - 1)


def _t_test(delta: float, se: float, df: float, name: str) -> Test:
    from scipy import stats

    if se == 0:  # no spread at all: any difference is certain, none is no change
        return Test(name, 0.0 if delta != 0 else 1.0, (delta, delta))
    t = delta / se
    p = float(2 * stats.t.sf(abs(t), df))
    half = float(stats.t.ppf(0.975, df)) * se
    return Test(name, p, (delta - half, delta + half))


def significance(a: Sequence[Sample], b: Sequence[Sample], metric: str) -> Test | None:
    """The test that fits the two sides (see the module docstring); None when there are
    too few values or a value is infinite ("never recovered")."""
    va = {s.seed: s.metrics[metric] for s in a
          if metric in s.metrics and not math.isnan(s.metrics[metric])}
    vb = {s.seed: s.metrics[metric] for s in b
          if metric in s.metrics and not math.isnan(s.metrics[metric])}
    xa, xb = list(va.values()), list(vb.values())
    if not xa or not xb or (len(xa) < 2 and len(xb) < 2):
        return None
    if not all(math.isfinite(x) for x in (*xa, *xb)):
        return None
    if len(xa) >= 2 and va.keys() == vb.keys():
        diffs = [vb[s] - va[s] for s in va]
        n = len(diffs)
        return _t_test(_mean(diffs), math.sqrt(_var(diffs) / n), n - 1,
                       f"paired t, {n} seeds")
    if len(xa) >= 2 and len(xb) >= 2:
        sa, sb = _var(xa) / len(xa), _var(xb) / len(xb)
        se = math.sqrt(sa + sb)
        df = ((sa + sb) ** 2 / ((sa ** 2 / (len(xa) - 1)) + (sb ** 2 / (len(xb) - 1)))
              if se > 0 else 1.0)
        return _t_test(_mean(xb) - _mean(xa), se, df, f"Welch t, {len(xa)} vs {len(xb)}")
    # one run against several: is it outside the others' prediction interval?
    many, one, sign = (xa, xb[0], 1.0) if len(xa) >= 2 else (xb, xa[0], -1.0)
    n = len(many)
    se = math.sqrt(_var(many) * (1 + 1 / n))
    return _t_test(sign * (one - _mean(many)), se, n - 1, f"prediction t, 1 vs {n}")


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as given)."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    return adjusted


# --------------------------------------------------------------------------- comparison

@dataclass
class Delta:
    """One metric at one grid point: both sides, the change, its test and verdict."""

    group: str
    metric: str
    a_mean: float
    b_mean: float
    a_n: int
    b_n: int
    direction: int
    test: Test | None = None
    p_adjusted: float | None = None
    tolerance: Tolerance | None = None
    verdict: str = NOT_TESTED

    @property
    def delta(self) -> float:
        return self.b_mean - self.a_mean

    @property
    def relative(self) -> float | None:
        if not math.isfinite(self.a_mean) or self.a_mean == 0 or not math.isfinite(self.delta):
            return None
        return self.delta / abs(self.a_mean)


@dataclass
class Comparison:
    """Every delta between a baseline (`a`) and a candidate (`b`)."""

    a: Side
    b: Side
    deltas: list[Delta]
    alpha: float = ALPHA
    notes: list[str] = field(default_factory=list)

    @property
    def regressions(self) -> list[Delta]:
        return [d for d in self.deltas if d.verdict == REGRESSION]

    @property
    def improvements(self) -> list[Delta]:
        return [d for d in self.deltas if d.verdict == IMPROVEMENT]

    @property
    def tested(self) -> bool:
        """True when at least one delta had a significance test."""
        return any(d.test is not None for d in self.deltas)

    def summary(self) -> str:
        """One line: the regressions (with their p-values), or that there are none."""
        if self.regressions:
            items = ", ".join(f"{_label(d)} ({_evidence(d)})" for d in self.regressions)
            return f"{len(self.regressions)} regression(s): {items}"
        if not self.tested:
            return ("no regression flagged; one seed per side, so no delta was tested "
                    "(run several seeds: simharness sweep --seeds 5)")
        return "no significant regression"


def _label(d: Delta) -> str:
    return f"{d.metric} [{d.group}]" if d.group else d.metric


def _evidence(d: Delta) -> str:
    if d.test is None:
        return f"beyond tolerance {d.tolerance}, untested"
    return f"p={_p(d.p_adjusted)}, {d.test.name}"


def _select(names: Sequence[str], patterns: Sequence[str] | None,
            tolerances: Mapping[str, Tolerance]) -> list[str]:
    if patterns:
        chosen = [n for n in names if any(fnmatchcase(n, p) for p in patterns)]
    else:
        chosen = [n for n in HEADLINE if n in names]
    extra = [n for n in names if n not in chosen and any(fnmatchcase(n, p) for p in tolerances)]
    return chosen + extra


def _tolerance_for(metric: str, tolerances: Mapping[str, Tolerance]) -> Tolerance | None:
    for pattern, tolerance in tolerances.items():
        if fnmatchcase(metric, pattern):
            return tolerance
    return None


def _finite_mean(samples: Sequence[Sample], metric: str) -> tuple[float, int]:
    xs = [s.metrics[metric] for s in samples
          if metric in s.metrics and not math.isnan(s.metrics[metric])]
    if not xs:
        return math.nan, 0
    return (math.fsum(xs) / len(xs) if all(math.isfinite(x) for x in xs)
            else sum(xs) / len(xs)), len(xs)


def compare(a: Side, b: Side, *, metrics: Sequence[str] | None = None,
            tolerances: Mapping[str, Tolerance] | None = None,
            alpha: float = ALPHA) -> Comparison:
    """Compare candidate `b` against baseline `a`, grid point by grid point.

    `metrics`: glob patterns of metric paths (default: the headline metrics);
    `tolerances`: metric glob -> how much worse it may get (metrics named there are
    compared too). Deltas are `b - a`.
    """
    tolerances = dict(tolerances or {})
    notes: list[str] = []
    pairs = _pair_groups(a, b, notes)
    deltas: list[Delta] = []
    for group, sa, sb in pairs:
        names = list(dict.fromkeys(k for s in (*sa, *sb) for k in s.metrics))
        group_deltas = []
        for metric in _select(names, metrics, tolerances):
            a_mean, a_n = _finite_mean(sa, metric)
            b_mean, b_n = _finite_mean(sb, metric)
            d = Delta(group, metric, a_mean, b_mean, a_n, b_n, direction(metric),
                      tolerance=_tolerance_for(metric, tolerances))
            if a_n and b_n and d.direction != 0:
                d.test = significance(sa, sb, metric)
            group_deltas.append(d)
        tested = [d for d in group_deltas if d.test is not None]
        for d, p in zip(tested, holm([d.test.p for d in tested if d.test]), strict=True):
            d.p_adjusted = p
        for d in group_deltas:
            d.verdict = _verdict(d, alpha)
        deltas += group_deltas
    if a.scenario != b.scenario:
        notes.append(f"the sides ran different scenarios ({a.scenario} vs {b.scenario})")
    elif a.scenario_hash and b.scenario_hash and a.scenario_hash != b.scenario_hash:
        notes.append(f"the scenario's content differs between the sides "
                     f"({a.scenario_hash} vs {b.scenario_hash})")
    for side, which in ((a, "A"), (b, "B")):
        if not side.complete:
            notes.append(f"{which} was interrupted: its figures cover only what finished")
    return Comparison(a, b, deltas, alpha, notes)


def _pair_groups(a: Side, b: Side,
                 notes: list[str]) -> list[tuple[str, list[Sample], list[Sample]]]:
    """Grid points matched by label; a side with one point meets every point of the other."""
    if len(a.groups) == 1 and len(b.groups) == 1:
        (sa,), (sb,) = a.groups.values(), b.groups.values()
        return [("", sa, sb)]
    if len(a.groups) == 1 or len(b.groups) == 1:
        single, many, flipped = (a, b, False) if len(a.groups) == 1 else (b, a, True)
        (only,) = single.groups.values()
        return [(label, many_s, only) if flipped else (label, only, many_s)
                for label, many_s in many.groups.items()]
    common = [label for label in a.groups if label in b.groups]
    for side, other, which in ((a, b, "A"), (b, a, "B")):
        lonely = [label for label in side.groups if label not in other.groups]
        if lonely:
            notes.append(f"grid points only in {which}: {'; '.join(lonely)}")
    if not common:
        raise DiffError("the two sweeps share no grid point to compare")
    return [(label, a.groups[label], b.groups[label]) for label in common]


def _verdict(d: Delta, alpha: float) -> str:
    if not d.a_n or not d.b_n:
        return MISSING
    if d.direction == 0:
        return ""
    worse_by = -d.direction * d.delta
    if d.test is None:
        if d.delta == 0:
            return IDENTICAL
        if d.tolerance is not None and math.isfinite(worse_by) and \
                not d.tolerance.allows(worse_by, d.a_mean):
            return REGRESSION
        return NOT_TESTED
    assert d.p_adjusted is not None
    if d.p_adjusted >= alpha:
        return NO_CHANGE
    if worse_by <= 0:
        return IMPROVEMENT
    if d.tolerance is not None and d.tolerance.allows(worse_by, d.a_mean):
        return WITHIN_TOLERANCE
    return REGRESSION


# --------------------------------------------------------------------------- rendering

def _num(value: float) -> str:
    if math.isnan(value):
        return "n/a"
    if math.isinf(value):
        return "never" if value > 0 else "-inf"
    if value == 0:
        return "0"
    if abs(value) >= 1000 or abs(value) < 0.001:
        return f"{value:.4g}"
    return f"{value:.4f}".rstrip("0").rstrip(".") if abs(value) < 1 else f"{value:.4g}"


def _signed(value: float) -> str:
    text = _num(value)
    return f"+{text}" if value > 0 else text


def _p(p: float | None) -> str:
    if p is None:
        return ""
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


_STYLE = {REGRESSION: "bold red", IMPROVEMENT: "green", WITHIN_TOLERANCE: "yellow"}


def render(comparison: Comparison, console: Any = None, *, width: int = 150) -> str:
    """The comparison as tables (one per grid point) with a legend; printed to `console`
    when given, and returned as plain text (for CI logs and test failure messages)."""
    from rich import box
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from .report.console import print_wide

    c = comparison
    buffer = io.StringIO()
    plain = Console(file=buffer, width=width, no_color=True, highlight=False,
                    emoji=False, color_system=None)
    targets = [plain] if console is None else [plain, console]
    groups = list(dict.fromkeys(d.group for d in c.deltas))
    header = f"A: {c.a.describe()}\nB: {c.b.describe()}"
    for target in targets:
        target.print(escape(header), highlight=False, soft_wrap=True)
    for group in groups:
        table = Table(title=f"grid point: {group}" if group else None, box=box.SIMPLE_HEAD,
                      title_justify="left")
        table.add_column("metric", no_wrap=True)
        for name in ("A", "B", "delta", "delta %"):
            table.add_column(name, justify="right", no_wrap=True)
        table.add_column("test", no_wrap=True)
        table.add_column("p", justify="right", no_wrap=True)
        table.add_column("95% CI of delta", no_wrap=True)
        table.add_column("verdict", no_wrap=True)
        for d in (d for d in c.deltas if d.group == group):
            rel = d.relative
            ci = "" if d.test is None else f"[{_num(d.test.ci[0])}, {_num(d.test.ci[1])}]"
            style = _STYLE.get(d.verdict)
            verdict = d.verdict
            if d.verdict in (REGRESSION, WITHIN_TOLERANCE) and d.tolerance is not None:
                verdict += f" (tolerance {d.tolerance})"
            table.add_row(d.metric, _num(d.a_mean), _num(d.b_mean), _signed(d.delta),
                          "" if rel is None else f"{rel * 100:+.1f}%",
                          "" if d.test is None else d.test.name, _p(d.p_adjusted), ci,
                          f"[{style}]{verdict}[/]" if style else verdict)
        for target in targets:
            print_wide(target, table)
    tested = max((len([d for d in c.deltas if d.group == g and d.test]) for g in groups),
                 default=0)
    legend = "delta = B - A. "
    if tested:
        legend += (f"p: two-sided, Holm-adjusted over the (up to) {tested} metrics tested per "
                   f"grid point; significant below {c.alpha:g}. A regression is a significant "
                   "change in the worse direction (accuracy down; latency, cost, failures up) "
                   "beyond its tolerance.")
    else:
        legend += ("Untested: a regression is then only a change in the worse direction "
                   "beyond an explicit --tolerance.")
    lines = [*(f"note: {n}" for n in c.notes), legend, c.summary()]
    for target in targets:
        for line in lines:
            style = "bold red" if line == c.summary() and c.regressions else None
            target.print(f"[{style}]{escape(line)}[/]" if style else escape(line),
                         highlight=False, soft_wrap=True)
    return buffer.getvalue()


# --------------------------------------------------------------------------- baselines

LATEST = "latest"


def find_baseline(ref: str | Path, scenario: str,
                  history: str | Path | None = None) -> Side | None:
    """The baseline for runs of `scenario`, from what `--sim-baseline` names:

    - `latest`: the newest complete run or sweep of that scenario in the history;
    - a run id, a run directory or a sweep directory: used when it ran that scenario;
    - a directory of run or sweep directories (say, last release's `runs/`, or the
      pytest plugin's `--sim-out` folder): the newest sweep of that scenario, or its run
      directories, one per seed (the newest of each), taken together when they ran the same
      scenario content.

    None when there is no baseline for this scenario (a new scenario has none yet).
    """
    if str(ref) == LATEST:
        db = history_path(history)
        if db is None or not db.is_file():
            return None
        try:
            entries = History(db).runs(scenario)
        except HistoryError:
            return None
        for entry in reversed(entries):
            if entry.complete:
                return load_side(str(entry.id), db)
        return None
    path = Path(ref)
    if path.is_dir() and not (path / "results.json").is_file() \
            and not (path / "sweep.json").is_file():
        candidates = sorted(
            (p for p in path.iterdir()
             if (p / "results.json").is_file() or (p / "sweep.json").is_file()),
            key=lambda p: max((p / n).stat().st_mtime for n in ("results.json", "sweep.json")
                              if (p / n).is_file()), reverse=True)
        for candidate in candidates:
            side = load_side(candidate, history)
            if side.scenario == scenario:
                if (candidate / "results.json").is_file():
                    _add_seeds(side, candidates, history)
                return side
        return None
    side = load_side(ref, history)
    return side if side.scenario == scenario else None


def _add_seeds(side: Side, candidates: Sequence[Path], history: str | Path | None) -> None:
    """Join to a run directory's side the other seeds of the same scenario content in its
    folder (newest first, one run per seed), so a folder of seeded runs is one sample."""
    (samples,) = side.groups.values()
    seeds = {s.seed for s in samples}
    joined = 0
    for candidate in candidates:
        if not (candidate / "results.json").is_file():
            continue
        other = load_side(candidate, history)
        (found,) = other.groups.values()
        if other.scenario == side.scenario and other.scenario_hash == side.scenario_hash \
                and found[0].seed not in seeds:
            samples.append(found[0])
            seeds.add(found[0].seed)
            side.complete = side.complete and other.complete
            joined += 1
    if joined:
        side.name = f"{Path(side.name).parent} ({len(samples)} runs)"


def compare_to_baseline(ref: str | Path, results: Any, *,
                        metrics: Sequence[str] | None = None,
                        tolerances: Mapping[str, Tolerance] | None = None,
                        alpha: float = ALPHA,
                        history: str | Path | None = None) -> Comparison | None:
    """Live results (one `Result`, or a list over seeds) against their baseline (see
    `find_baseline`); None when the scenario has no baseline. Call it before recording
    `results` in the history, or `latest` finds them. The pytest plugin's `--sim-baseline`
    fails an item whose comparison has regressions, with `render(...)` as the failure
    text."""
    current = side_from_result(results)
    baseline = find_baseline(ref, current.scenario, history)
    if baseline is None:
        return None
    return compare(baseline, current, metrics=metrics, tolerances=tolerances, alpha=alpha)

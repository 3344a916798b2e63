"""`--sim-baseline`: a scenario test also fails when its metrics regress significantly
against a baseline (the comparison and its significance tests are `simharness diff`'s).

What happens when there is nothing to compare with is a choice CI users make once, so the
plugin picks the forgiving default and makes it visible: a scenario with no baseline yet
(a new scenario, a first CI run), or a comparison that could test nothing (one seed per
side), passes on its SLOs alone and raises a `NoBaselineWarning`, listed in pytest's
warnings summary. `-W error::simharness.pytest_plugin.NoBaselineWarning` turns those into
failures. A baseline that cannot be read at all (a missing directory, an unknown run id)
is a usage error before anything runs: a gate that silently compares with nothing is
worse than no gate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ..regression import Comparison
    from .verdict import ScenarioRuns

#: Width of the diff table in failure text (pytest does not wrap it).
WIDTH = 140


class NoBaselineWarning(UserWarning):
    """A scenario test that `--sim-baseline` could not gate (no baseline for it, no shared
    metric, or nothing testable); it passed or failed on its SLOs alone."""


def check_reference(ref: str, tolerances: tuple[str, ...] = ()) -> None:
    """A usage error, before any run, for a baseline that cannot be read or a bad tolerance.

    `latest` with no history yet is fine (every scenario then has no baseline and says so).
    """
    from ..regression import LATEST, DiffError, load_side, parse_tolerance

    try:
        for text in tolerances:
            parse_tolerance(text)
        if ref == LATEST:
            return
        path = Path(ref)
        if path.is_dir() and not (path / "results.json").is_file() \
                and not (path / "sweep.json").is_file():
            return  # a folder of run or sweep directories; each scenario finds its own
        load_side(ref)
    except DiffError as exc:
        raise pytest.UsageError(f"--sim-baseline {ref}: {exc}") from None


@dataclass
class BaselineCheck:
    """One scenario test's runs against its baseline."""

    ref: str
    comparison: Comparison | None

    @property
    def regressed(self) -> bool:
        return self.comparison is not None and bool(self.comparison.regressions)

    @property
    def problem(self) -> str | None:
        """Why the baseline could not gate this test, or None when it did."""
        c = self.comparison
        if c is None:
            return (f"no baseline for this scenario in {self.ref}: judged on its SLOs alone "
                    "(a new scenario, or a first run; record one with simharness run/sweep, "
                    "or keep a --sim-out folder)")
        from ..regression import MISSING

        if all(d.verdict == MISSING for d in c.deltas):
            return (f"the baseline ({c.a.describe()}) has none of the compared metrics: "
                    "judged on its SLOs alone")
        if not c.tested and not c.regressions:
            return (f"one seed on each side ({c.a.describe()}), so no delta could be tested "
                    "and only a --sim-tolerance can flag a regression; run --sim-seeds 5 "
                    "against a baseline with several seeds (simharness sweep --seeds 5)")
        return None

    def table(self) -> str:
        from ..regression import render

        assert self.comparison is not None
        return render(self.comparison, width=WIDTH).rstrip()

    def section(self) -> str:
        """The report section every item shows (with -rA or on failure)."""
        if self.comparison is None:
            return f"baseline: none ({self.problem})"
        return self.table()

    def failure_report(self, runs: ScenarioRuns) -> str:
        """The diff table under one line naming the regressed metrics."""
        assert self.comparison is not None
        lines = [f"regressed against the baseline: {self.comparison.summary()}",
                 runs.header(), self.table()]
        dirs = [str(run.out) for run in runs.runs if run.out is not None]
        baseline = _side_ref(self.comparison.a.name)
        if len(dirs) == 1 and baseline is not None:
            lines.append(f"compare again: simharness diff {baseline} {dirs[0]}")
        return "\n".join(lines)

    def properties(self) -> list[tuple[str, Any]]:
        """JUnit properties: which baseline, and how many metrics regressed."""
        if self.comparison is None:
            return [("baseline", "none")]
        return [("baseline", self.comparison.a.name),
                ("regressions", len(self.comparison.regressions))]


def _side_ref(name: str) -> str | None:
    """The baseline as `simharness diff` takes it (a run id or a directory), if it is one."""
    import re
    import shlex

    found = re.fullmatch(r"(?:run|sweep) #(\d+)", name)
    if found:
        return found.group(1)
    return shlex.quote(name) if Path(name).is_dir() else None


def check_baseline(ref: str, tolerances: tuple[str, ...], results: list[Any]) -> BaselineCheck:
    """Compare the test's results (every seed) with their baseline."""
    from ..regression import compare_to_baseline, parse_tolerance

    parsed = dict(parse_tolerance(t) for t in tolerances)
    return BaselineCheck(ref, compare_to_baseline(ref, results, tolerances=parsed))

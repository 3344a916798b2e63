"""Scenario files as pytest items: one item per file, passing when every `expect:` SLO
passes on every seed. A file that does not load is a failed item (never a collection
crash); a file with no `expect:` is an error item (a test that asserts nothing is not a
pass)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .options import SimOptions
from .verdict import ScenarioRuns, SLOFailure, run_seeds


def gate(item: pytest.Item, options: SimOptions, outcome: ScenarioRuns) -> None:
    """Fail the item when an SLO failed or, with `--sim-baseline`, a metric regressed; one
    short report for both."""
    failures = [] if outcome.passed else [outcome.failure_report()]
    if options.baseline:
        from .baseline import NoBaselineWarning, check_baseline

        check = check_baseline(options.baseline, options.tolerances,
                               [run.result for run in outcome.runs])
        item.user_properties.extend(check.properties())
        item.add_report_section("call", "simharness baseline", check.section())
        if check.regressed:
            failures.append(check.failure_report(outcome))
        elif check.problem:
            import warnings

            # at the scenario file, and never deduplicated (each scenario says it once)
            warnings.warn_explicit(NoBaselineWarning(f"{outcome.header()}: {check.problem}"),
                                   category=None, filename=str(item.path), lineno=1)
    if failures:
        raise SLOFailure("\n\n".join(failures))


class ScenarioFile(pytest.File):
    """A scenario YAML file matched by `simharness_scenarios` / `--sim-scenarios`."""

    def collect(self) -> Iterator[pytest.Item]:
        from ..errors import ScenarioError
        from ..scenario import scenario_from_yaml

        shown = os.path.relpath(self.path, self.config.invocation_params.dir)
        try:
            text = self.path.read_text(encoding="utf-8")
            scenario = scenario_from_yaml(text, shown)
        except (OSError, UnicodeDecodeError) as exc:
            error: Exception = ScenarioError(f"{shown}: cannot read: {exc}")
        except ScenarioError as exc:
            error = exc
        else:
            yield ScenarioItem.from_parent(self, name=scenario.name, scenario=scenario,
                                           shown=shown)
            return
        yield ScenarioItem.from_parent(self, name=_name_of_broken(self.path), scenario=None,
                                       shown=shown, load_error=error)


def _name_of_broken(path: Path) -> str:
    """The `name:` of a file that does not validate, if it can be read at all; else the stem."""
    import yaml

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except Exception:  # noqa: BLE001 (anything unreadable: the item reports the real error)
        return path.stem
    name = data.get("name") if isinstance(data, dict) else None
    return name if isinstance(name, str) and name.strip() else path.stem


class ScenarioItem(pytest.Item):
    """Runs one scenario (every seed) against its agent and checks its SLOs."""

    def __init__(self, *, scenario: Any, shown: str, load_error: Exception | None = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.scenario = scenario
        self.shown = shown
        self.load_error = load_error
        self.add_marker("simharness")
        # A scenario is a simulated hour, not a unit test: a project-wide pytest-timeout
        # meant for unit tests must not cut it short (the harness's own watchdogs guard
        # against hangs). Ten wall minutes per seed.
        from .options import options_of

        if self.config.pluginmanager.hasplugin("timeout"):
            self.add_marker(pytest.mark.timeout(600 * options_of(self.config).seeds))

    def setup(self) -> None:
        if self.scenario is not None and not self.scenario.expect:
            pytest.fail(f"{self.shown}: scenario {self.scenario.name!r} has no `expect:` SLOs, "
                        "so as a test it would assert nothing; add at least one, e.g. "
                        "`expect: {routing.accuracy: \">= 0.85\"}`", pytrace=False)

    def runtest(self) -> None:
        if self.load_error is not None:
            raise self.load_error
        from .options import options_of, out_base

        options: SimOptions = options_of(self.config)
        scenario = self.scenario.scaled(options.scale)
        seeds = options.seed_list(scenario.seed)
        runs = run_seeds(scenario, seeds, options.agent, out_base(self.config))
        outcome = ScenarioRuns(scenario, runs, self.shown, options.agent, options.scale,
                               self.scenario.duration)
        self.user_properties.extend(outcome.properties())
        self.add_report_section("call", "simharness", outcome.verdicts())
        gate(self, options, outcome)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                     style: Any = None) -> str | Any:
        from ..errors import SimHarnessError
        from .baseline import NoBaselineWarning

        if isinstance(excinfo.value, SLOFailure | SimHarnessError | NoBaselineWarning):
            return str(excinfo.value)
        return super().repr_failure(excinfo, style=style)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, f"scenario {self.name}"

"""The pytest plugin (entry point `pytest11: simharness`): scenarios as tests in CI.

- Scenario files matching `simharness_scenarios` (ini) or `--sim-scenarios GLOB` become
  items that pass when every `expect:` SLO passes (on every seed with `--sim-seeds K`).
- Fixtures for tests written in Python: `sim_run`, `sim_result` (with the `scenario`
  marker) and `sim_world` (one agent call under one fault, no traffic run).
- `--sim-baseline RUN_OR_DIR`: a scenario test also fails when its metrics regress
  significantly against a baseline (`simharness diff`'s tests, over every seed).
- Headline metrics go into JUnit XML as properties.

Opt-in and cheap: nothing is collected until a glob is configured, and simharness itself is
imported only inside the hooks and fixtures that need it. `-p no:simharness` turns it off.
"""

from __future__ import annotations

from collections.abc import Callable, Generator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from .baseline import NoBaselineWarning
from .options import OPTIONS_KEY, add_options, collection_args, options_of, out_base

__all__ = ["NoBaselineWarning"]

if TYPE_CHECKING:
    from ..result import Result
    from ..testing import UnitWorld

_MARKER = ("scenario(path, seeds=1, agent=None, seed=None, check_slos=True, **overrides): "
           "run a scenario for the test's `sim_result` argument (a Result, or a list of "
           "Results when seeds > 1); its SLOs are checked after the test unless "
           "check_slos=False")
_RUNS_KEY = pytest.StashKey[Any]()


def pytest_addoption(parser: pytest.Parser) -> None:
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", _MARKER)
    config.addinivalue_line("markers", "simharness: a scenario file collected as a test")
    options = options_of(config)
    config.stash[OPTIONS_KEY] = options
    if options.scenario_globs:
        # `testpaths` (or the paths given) would never reach scenarios/; add the files.
        config.args.extend(collection_args(config, options))


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> pytest.Collector | None:
    if file_path.suffix not in (".yaml", ".yml"):
        return None
    options = options_of(parent.config)
    if not options.scenario_globs or not options.matches(file_path):
        return None
    from .items import ScenarioFile

    file: pytest.Collector = ScenarioFile.from_parent(parent, path=file_path)
    return file


# --------------------------------------------------------------------------- fixtures

@pytest.fixture
def sim_run() -> Callable[..., Result]:
    """`sim_run(scenario, agent=None, seed=None, **overrides)` -> Result.

    `scenario` is a YAML path, a dict or a `Scenario`; `overrides` replace values at
    scenario paths (`duration="5m"`, or `**{"traffic[0].synthetic.rate": "1/s"}`).
    """
    from .. import api

    def run(scenario: Any, agent: Any = None, seed: int | None = None,
            **overrides: Any) -> Result:
        loaded = api.as_scenario(scenario)
        if overrides:
            loaded = loaded.with_overrides(overrides)
        return api.run(loaded, agent=agent, seed=seed)

    return run


@pytest.fixture
def sim_result(request: pytest.FixtureRequest) -> Result | list[Result]:
    """The Result(s) of the test's `@pytest.mark.scenario(...)`."""
    from .. import api
    from .verdict import ScenarioRuns, run_seeds

    marker = request.node.get_closest_marker("scenario")
    if marker is None or not marker.args:
        raise pytest.UsageError(f"{request.node.nodeid}: sim_result needs "
                                "@pytest.mark.scenario('path/to/scenario.yaml')")
    kwargs = dict(marker.kwargs)
    count = int(kwargs.pop("seeds", 1))
    agent = kwargs.pop("agent", None)
    seed = kwargs.pop("seed", None)
    check = bool(kwargs.pop("check_slos", True))
    options = options_of(request.config)
    path = _marker_path(marker.args[0], request)
    loaded = api.as_scenario(path)
    if kwargs:
        loaded = loaded.with_overrides(kwargs)
    scenario = loaded.scaled(options.scale)
    agent = agent if agent is not None else options.agent
    base = seed if seed is not None else options.seed if options.seed is not None \
        else scenario.seed
    runs = run_seeds(scenario, [base + i for i in range(count)], agent,
                     out_base(request.config) / _safe(request.node.nodeid),
                     write_reports=False)
    shown = str(path) if not isinstance(path, Path) else _shown(path, request.config)
    outcome = ScenarioRuns(scenario, runs, shown, agent if isinstance(agent, str) else None,
                           options.scale, loaded.duration)
    request.node.user_properties.extend(outcome.properties())
    request.node.stash[_RUNS_KEY] = (outcome, check)
    results = [run.result for run in runs]
    return results if count > 1 else results[0]


@pytest.fixture
def sim_world() -> Callable[..., UnitWorld]:
    """`sim_world(fault=None, world=None, seed=0, ...)` -> a world for one agent call:
    `.call(agent, payload)` returns the Decision or the exception, on simulated time."""
    from ..testing import UnitWorld

    return UnitWorld


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, Any, Any]:
    """After a `scenario`-marked test body passes, its SLOs are checked too."""
    result = yield
    state = item.stash.get(_RUNS_KEY, None)
    if state is not None:
        outcome, check = state
        item.add_report_section("call", "simharness", outcome.verdicts())
        if check:
            from .items import gate
            from .verdict import SLOFailure

            try:
                gate(item, options_of(item.config), outcome)
            except (SLOFailure, NoBaselineWarning) as exc:  # the warning under -W error
                pytest.fail(str(exc), pytrace=False)
    return result


def _marker_path(value: Any, request: pytest.FixtureRequest) -> Any:
    """A marker's scenario: a path relative to the test file (else the rootdir), or a dict
    or Scenario as is."""
    if not isinstance(value, str | Path):
        return value
    path = Path(value)
    if path.is_absolute():
        return path
    near = Path(request.node.path).parent / path
    return near if near.exists() else request.config.rootpath / path


def _shown(path: Path, config: pytest.Config) -> str:
    import os

    return os.path.relpath(path, config.invocation_params.dir)


def _safe(nodeid: str) -> str:
    import re

    return re.sub(r"[^A-Za-z0-9_.-]+", "_", nodeid)[-120:]

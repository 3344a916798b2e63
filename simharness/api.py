"""The entry points most users need: load a scenario and run it."""

from __future__ import annotations

import numbers
from pathlib import Path
from typing import Any

from .agents.identity import identify
from .checks import check_run
from .engine import ProgressCallback, run_engine
from .errors import ErrorLocation, ScenarioError
from .record_store import RecordStore
from .result import Result
from .scenario import Scenario, load_scenario, scenario_from_dict


def as_scenario(scenario: Scenario | str | Path | dict[str, Any]) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return scenario_from_dict(scenario)
    return load_scenario(scenario)


def check_seed(seed: Any, where: str = "seed") -> int | None:
    """`seed` as an int (None stays None); a float, text or bool is a ScenarioError, as
    the same value in a scenario file would be."""
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise ScenarioError([ErrorLocation("<run>", None, None, where,
                                           f"expected a whole number, got {seed!r:.40}")])
    return int(seed)


def run(scenario: Scenario | str | Path | dict[str, Any], agent: Any = None,
        seed: int | None = None, progress: ProgressCallback | None = None, *,
        max_tickets: int | None = None, records_dir: str | Path | None = None) -> Result:
    """Run a scenario (object, YAML path or dict) and return its Result.

    `agent` overrides the scenario's `agent.ref`: a 'module:attr' string, a function, an
    async function, a class, or an object with `handle`. `seed` overrides the scenario's.
    A scenario expected to make more than `max_tickets` tickets (default
    `checks.DEFAULT_MAX_TICKETS`), or none at all, is refused before it starts. Ctrl-C
    raises `RunInterrupted`, whose `result` holds the tickets that finished.

    Records stream to disk in chunks as tickets finish, so memory stays flat however long
    the run: into `records_dir` when given (Parquet chunks when pyarrow is installed, else
    JSON lines), else into a temporary directory removed with the Result (or at exit). A
    run that fits in one chunk keeps its records in memory and writes nothing.
    """
    loaded = as_scenario(scenario)
    checked_seed = check_seed(seed)
    check_run(loaded, max_tickets)
    store = RecordStore(records_dir) if records_dir is not None else None
    output = run_engine(loaded, agent=agent, seed=checked_seed, progress=progress,
                        records=store)
    result = Result(loaded, output, agent=identify(agent, loaded.agent.ref))
    if not result.complete:
        raise RunInterrupted(result)
    return result


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run. A KeyboardInterrupt, so a script stops as usual; `result` holds
    what finished (`result.complete` is False), for whoever wants to keep it."""

    def __init__(self, result: Result) -> None:
        super().__init__("run interrupted")
        self.result = result

"""The entry points most users need: load a scenario and run it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .engine import ProgressCallback, run_engine
from .result import Result
from .scenario import Scenario, load_scenario, scenario_from_dict


def as_scenario(scenario: Scenario | str | Path | dict[str, Any]) -> Scenario:
    if isinstance(scenario, Scenario):
        return scenario
    if isinstance(scenario, dict):
        return scenario_from_dict(scenario)
    return load_scenario(scenario)


def run(scenario: Scenario | str | Path | dict[str, Any], agent: Any = None,
        seed: int | None = None, progress: ProgressCallback | None = None) -> Result:
    """Run a scenario (object, YAML path or dict) and return its Result.

    `agent` overrides the scenario's `agent.ref`: a 'module:attr' string, a function, an
    async function, a class, or an object with `handle`. `seed` overrides the scenario's.
    Ctrl-C raises `RunInterrupted`, whose `result` holds the tickets that finished.
    """
    loaded = as_scenario(scenario)
    result = Result(loaded, run_engine(loaded, agent=agent, seed=seed, progress=progress))
    if not result.complete:
        raise RunInterrupted(result)
    return result


class RunInterrupted(KeyboardInterrupt):
    """Ctrl-C during a run. A KeyboardInterrupt, so a script stops as usual; `result` holds
    what finished (`result.complete` is False), for whoever wants to keep it."""

    def __init__(self, result: Result) -> None:
        super().__init__("run interrupted")
        self.result = result

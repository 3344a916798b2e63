"""simharness: run real agent code through simulated traffic, faults and time.

    import simharness as sh
    result = sh.run("scenarios/baseline.yaml", agent="my_pkg.agent:route", seed=7)
    result.metrics["routing"]["accuracy"]
    sweep = sh.sweep("scenarios/baseline.yaml", grid={"traffic[0].synthetic.rate": [1, 2, 4]},
                     seeds=10)

The public names are imported on first use (PEP 562), so `import simharness` — which pytest
does for the plugin in every project that has simharness installed — costs next to nothing.
"""

from __future__ import annotations

import importlib
import sys
import types
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .agents import AgentContext, Decision, make_context
    from .api import run
    from .errors import AgentError, ScenarioError, SimHarnessError
    from .result import Result, SLOResult
    from .scenario import Scenario, load_scenario
    from .sweep import SweepResult, sweep
    from .vclock import SimulationError

__version__ = "0.1.0"

#: Public name -> the module that defines it.
_LAZY: dict[str, str] = {
    "AgentContext": ".agents",
    "AgentError": ".errors",
    "Decision": ".agents",
    "Result": ".result",
    "SLOResult": ".result",
    "Scenario": ".scenario",
    "ScenarioError": ".errors",
    "SimHarnessError": ".errors",
    "SimulationError": ".vclock",
    "SweepResult": ".sweep",
    "load_scenario": ".scenario",
    "make_context": ".agents",
    "run": ".api",
    "sweep": ".sweep",
}

__all__ = [
    "AgentContext",
    "AgentError",
    "Decision",
    "Result",
    "SLOResult",
    "Scenario",
    "ScenarioError",
    "SimHarnessError",
    "SimulationError",
    "SweepResult",
    "__version__",
    "load_scenario",
    "make_context",
    "run",
    "sweep",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'simharness' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_LAZY])


class _Package(types.ModuleType):
    """Keeps `simharness.sweep` the function: importing the submodule of the same name
    would otherwise replace it (the module stays in sys.modules['simharness.sweep'])."""

    def __setattr__(self, name: str, value: Any) -> None:
        if name in _LAZY and isinstance(value, types.ModuleType):
            return
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

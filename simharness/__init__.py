"""simharness: run real agent code through simulated traffic, faults and time.

    import simharness as sh
    result = sh.run("scenarios/baseline.yaml", agent="my_pkg.agent:route", seed=7)
    result.metrics["routing"]["accuracy"]
    sweep = sh.sweep("scenarios/baseline.yaml", grid={"traffic[0].synthetic.rate": [1, 2, 4]},
                     seeds=10)
"""

from .agents import AgentContext, Decision, make_context
from .api import run
from .errors import AgentError, ScenarioError, SimHarnessError
from .result import Result, SLOResult
from .scenario import Scenario, load_scenario
from .sweep import SweepResult, sweep
from .vclock import SimulationError

__version__ = "0.1.0"

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

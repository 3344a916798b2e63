"""The run's fault plan: which injectors are active for a call, and when."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import fault_injectors
from fault_injectors import Call, FaultInjector

from ..records import EventScope
from ..rng import python_stream


def target_matches(pattern: str | None, target: str) -> bool:
    """`llm` covers every tier (`llm.large`), `llm.large` only itself; None covers all."""
    return pattern is None or target == pattern or target.startswith(pattern + ".")


@dataclass(slots=True)
class ScheduledFault:
    name: str
    target: str | None
    start: float
    end: float
    probability: float
    injector: FaultInjector
    draw: Any


class FaultPlan:
    """Built from the scenario's `faults:`; the world asks it about every call."""

    def __init__(self, specs: list[Any], seed: int) -> None:
        self.faults: list[ScheduledFault] = []
        for spec in specs:
            cls = fault_injectors.get(spec.kind)
            params = cls.Params.model_validate(spec.params())
            start, end = spec.window()
            self.faults.append(ScheduledFault(
                name=spec.name, target=spec.target, start=start,
                end=math.inf if end is None else end, probability=spec.probability,
                injector=cls(params), draw=python_stream(seed, "fault", spec.name).random))
        self._network = [f for f in self.faults if f.injector.family == "network"]

    def windows(self) -> list[tuple[str, float, float]]:
        return [(f.name, f.start, f.end) for f in self.faults]

    def intercept(self, target: str, method: str, path: str, now: float,
                  scope: EventScope | None) -> tuple[float, Any] | None:
        """The first active network fault's answer to this call, or None."""
        for fault in self._network:
            if not (fault.start <= now < fault.end and target_matches(fault.target, target)):
                continue
            if fault.probability < 1.0 and fault.draw() >= fault.probability:
                continue
            answer = fault.injector.before(Call(target, method, path, now, None, fault.start, fault.end))
            if answer is not None:
                if scope is not None:
                    scope.touched_by(fault.name)
                return answer
        return None

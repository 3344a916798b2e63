"""The run's fault plan: which injectors act on a call, a payload or a delivery, and when."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import fault_injectors
from fault_injectors import FaultInjector
from fault_injectors.schedule import Schedule

from ..records import EventScope
from ..rng import hash_uniform, python_stream

CALL_FAMILIES = ("network", "llm")


def target_matches(pattern: str | None, target: str) -> bool:
    """`llm` covers every tier (`llm.large`), `llm.large` only itself; None covers all."""
    return pattern is None or target == pattern or target.startswith(pattern + ".")


@dataclass(slots=True)
class ScheduledFault:
    name: str
    target: str | None
    schedule: Schedule
    per: str
    injector: FaultInjector
    draw: Any

    @property
    def family(self) -> str:
        return self.injector.family


def _schedule(spec: Any, injector: FaultInjector) -> Schedule:
    start, end = spec.window()
    rate = getattr(injector.params, "rate", None)  # input faults may give their share as rate
    return Schedule(start=start, end=math.inf if end is None else end,
                    probability=spec.probability if rate is None else rate,
                    ramp=getattr(spec, "ramp", None), every=getattr(spec, "every", None),
                    for_=getattr(spec, "for_", None))


class FaultPlan:
    """Built from the scenario's `faults:`; the world and the engine ask it what applies."""

    def __init__(self, specs: list[Any], seed: int) -> None:
        self.seed = seed
        self.faults: list[ScheduledFault] = []
        for spec in specs:
            cls = fault_injectors.get(spec.kind)
            injector = cls(cls.Params.model_validate(spec.params()),
                           python_stream(seed, "fault", spec.name, "injector"))
            self.faults.append(ScheduledFault(
                name=spec.name, target=spec.target, schedule=_schedule(spec, injector),
                per=getattr(spec, "per", None) or cls.default_per, injector=injector,
                draw=python_stream(seed, "fault", spec.name, "draw").random))
        self._call = [f for f in self.faults if f.family in CALL_FAMILIES]
        self._input = [f for f in self.faults if f.family == "input"]
        self._delivery = [f for f in self.faults if f.family == "delivery"]

    def windows(self, horizon: float) -> list[tuple[str, float, float]]:
        """Every active span of every fault, up to `horizon` simulated seconds."""
        return [(f.name, s, e) for f in self.faults for s, e in f.schedule.spans(horizon)]

    def _applies(self, fault: ScheduledFault, now: float, key: tuple[Any, ...]) -> bool:
        intensity = fault.schedule.intensity(now)
        if intensity <= 0.0:
            return False
        if intensity >= 1.0:
            return True
        if fault.per == "ticket":
            return hash_uniform(self.seed, "fault", fault.name, *key) < intensity
        return fault.draw() < intensity

    def for_call(self, target: str, now: float,
                 scope: EventScope | None) -> list[ScheduledFault]:
        """The network and LLM faults acting on this call (marked on the ticket's record)."""
        if not self._call:
            return []
        key = (scope.ticket.id,) if scope is not None else ("-",)
        active = [f for f in self._call if target_matches(f.target, target)
                  and self._applies(f, now, key)]
        if scope is not None:
            for fault in active:
                scope.touched_by(fault.name)
        return active

    def for_payload(self, now: float, ticket_id: str, event: int) -> list[ScheduledFault]:
        """Input faults that mutate this event's payload."""
        if not self._input:
            return []
        return [f for f in self._input if self._applies(f, now, (ticket_id, event))]

    def for_delivery(self, now: float, ticket_id: str) -> list[ScheduledFault]:
        """Delivery faults (duplicates, reordering) acting on this ticket."""
        if not self._delivery:
            return []
        return [f for f in self._delivery if self._applies(f, now, (ticket_id,))]

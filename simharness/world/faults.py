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
    #: Whether it changes a response the integration produced (`after`), as opposed to
    #: answering instead of it (`before`).
    changes_response: bool = False
    #: Whether it changes what the model answers (`rewrite`, `accuracy_factor`).
    rewrites: bool = False
    #: Whether it changes streamed answers (`stream`).
    streams: bool = False

    @property
    def family(self) -> str:
        return self.injector.family


def _overrides(injector: FaultInjector, *names: str) -> bool:
    cls = type(injector)
    return any(getattr(cls, name) is not getattr(FaultInjector, name) for name in names)


def _schedule(spec: Any, injector: FaultInjector) -> Schedule:
    start, end = spec.window()
    # `malformed_input` states its share of tickets as `rate`, an alias of `probability`.
    rate = getattr(injector.params, "rate", None)
    return Schedule(start=start, end=math.inf if end is None else end,
                    probability=spec.probability if rate is None else rate,
                    ramp=spec.ramp, every=spec.every, for_=spec.for_)


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
                per=spec.per or cls.default_per, injector=injector,
                draw=python_stream(seed, "fault", spec.name, "draw").random,
                changes_response=_overrides(injector, "after"),
                rewrites=_overrides(injector, "rewrite", "accuracy_factor"),
                streams=_overrides(injector, "stream")))
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
        """The network and LLM faults active on this call. The world marks a fault on
        the ticket's record only when it actually changes what the agent gets."""
        if not self._call:
            return []
        key = (scope.ticket.id,) if scope is not None else ("-",)
        return [f for f in self._call if target_matches(f.target, target)
                and self._applies(f, now, key)]

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

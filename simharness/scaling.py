"""A shorter copy of a scenario for a quick pass: every time on the scenario's own timeline
(duration, fault windows and repeats, traffic start/stop and rate steps) multiplied by one
factor, so a fault at mid-run stays at mid-run. Latencies, timeouts and rates are not
scaled: the agent meets the same world, only for less time."""

from __future__ import annotations

from typing import Any

from .scenario import Scenario

#: Fields of a fault entry that are times on the scenario's timeline.
FAULT_TIMES = ("at", "duration", "from", "until", "ramp", "every", "for")


def scaled(scenario: Scenario, factor: float) -> Scenario:
    """The scenario with its timeline multiplied by `factor` (0 < factor <= 1)."""
    if not 0 < factor <= 1:
        raise ValueError(f"scale factor must be above 0 and at most 1, got {factor:g}")
    if factor == 1:
        return scenario
    overrides: dict[str, Any] = {"duration": scenario.duration * factor}
    for i, fault in enumerate(scenario.faults):
        for name in FAULT_TIMES:
            field = "from_" if name == "from" else "for_" if name == "for" else name
            value = getattr(fault, field)
            if value is not None:
                overrides[f"faults[{i}].{name}"] = value * factor
    for i, source in enumerate(scenario.traffic):
        synthetic = source.synthetic
        if synthetic is None:
            continue
        where = f"traffic[{i}].synthetic"
        if synthetic.start:
            overrides[f"{where}.start"] = synthetic.start * factor
        if synthetic.until is not None:
            overrides[f"{where}.until"] = synthetic.until * factor
        for j, step in enumerate(synthetic.schedule or []):
            overrides[f"{where}.schedule[{j}].at"] = step.at * factor
    return scenario.with_overrides(overrides)

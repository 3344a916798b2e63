"""Small helpers shared by the metric modules, and the few scenario settings they read."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ..columns import Columns
from ..records import TicketRecord

if TYPE_CHECKING:
    from ..scenario import Scenario

NAN = float("nan")

#: A fault window as the engine reports it: (fault name, start, end) in simulated seconds.
Window = tuple[str, float, float]


def ratio(num: float, den: float) -> float:
    """num / den, NaN when there is nothing to divide by (an undefined rate, not zero)."""
    return float(num / den) if den else NAN


def quantiles(values: np.ndarray, names: Sequence[str]) -> dict[str, float]:
    """`{"p50": ..., "mean": ..., "max": ...}` for the requested names; NaN when empty."""
    if values.size == 0:
        return {k: NAN for k in names}
    out: dict[str, float] = {}
    for name in names:
        if name == "mean":
            out[name] = float(values.mean())
        elif name == "max":
            out[name] = float(values.max())
        else:
            out[name] = float(np.percentile(values, float(name[1:])))
    return out


def as_columns(records: Sequence[TicketRecord] | Columns) -> Columns:
    """Metrics read columns; a list of records (in arrival order) is turned into them."""
    return records if isinstance(records, Columns) else Columns.of(records)


#: Values summed at a time by `float_sum` (bounds its scratch memory).
SUM_BLOCK = 65_536


def float_sum(values: np.ndarray) -> float:
    """The sum of `values` added one by one from the first, as summing the records' floats
    in Python always did: numpy's pairwise `sum` can differ in the last digit, and results
    must stay the same, byte for byte, for a seed. `cumsum` adds in order; a block at a
    time, so a million tickets need no million Python floats."""
    total = 0.0
    for start in range(0, values.size, SUM_BLOCK):
        block = np.concatenate(([total], values[start:start + SUM_BLOCK]))
        total = float(np.cumsum(block)[-1])
    return total


@dataclass(frozen=True)
class Settings:
    """What the metrics need from a scenario; all optional so records alone still work."""

    routes: tuple[str, ...] = ()
    sla: float | None = None
    review_cost: float = 0.0
    fault_names: tuple[str, ...] = ()
    never_ending: frozenset[str] = frozenset()

    @classmethod
    def of(cls, config: Scenario | None) -> Settings:
        if config is None:
            return cls()
        routes = tuple(dict.fromkeys(route for source in config.traffic
                                     for route in source.routes))
        names = tuple(f.name for f in config.faults if f.name is not None)
        never = frozenset(f.name for f in config.faults
                          if f.name is not None and math.isinf(f.window()[1]))
        return cls(routes=routes, sla=config.world.sla,
                   review_cost=config.world.human_review.cost_per_ticket,
                   fault_names=names, never_ending=never)

"""When a fault is active and how hard: windows, repeats, ramps and probability."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Schedule:
    """A fault's timing. Times are simulated seconds from the start of the run.

    Active in [start, end). With `every`/`for_`, only the first `for_` seconds of each
    `every`-long cycle are active. `ramp` makes the intensity rise linearly from 0 to
    `probability` over that long from the start of each active span.
    """

    start: float = 0.0
    end: float = math.inf
    probability: float = 1.0
    ramp: float | None = None
    every: float | None = None
    for_: float | None = None

    def span_start(self, now: float) -> float | None:
        """Start of the active span containing `now`, or None when inactive."""
        if not self.start <= now < self.end:
            return None
        if self.every is None or self.for_ is None:
            return self.start
        cycle = self.start + math.floor((now - self.start) / self.every) * self.every
        return cycle if now - cycle < self.for_ else None

    def intensity(self, now: float) -> float:
        """The chance the fault applies at `now` (0 outside its spans)."""
        begun = self.span_start(now)
        if begun is None:
            return 0.0
        if self.ramp:
            return self.probability * min(1.0, (now - begun) / self.ramp)
        return self.probability

    def spans(self, horizon: float) -> list[tuple[float, float]]:
        """The concrete active spans up to `horizon` (for reports and metric cuts)."""
        end = min(self.end, horizon)
        if self.every is None or self.for_ is None:
            return [(self.start, end)] if self.start < end else []
        out = []
        t = self.start
        while t < end:
            out.append((t, min(t + self.for_, end)))
            t += self.every
        return out

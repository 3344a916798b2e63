"""Arrival processes: when tickets arrive, as lazy iterators of absolute simulated times.

Gaps are drawn from numpy in batches (one call per up-to-4096 arrivals) because per-arrival
numpy calls would dominate the cost of a 30,000 tickets/s run.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np

MAX_BATCH = 4096


def poisson_arrivals(rate_per_s: float, start: float, until: float,
                     rng: np.random.Generator) -> Iterator[float]:
    """Homogeneous Poisson arrivals at `rate_per_s`, sorted, each time in [start, until)."""
    _check_rate(rate_per_s)
    if rate_per_s == 0 or until <= start:
        return
    scale = 1.0 / rate_per_s
    batch = _batch_size(rate_per_s * (until - start))
    t = start
    while True:
        times = t + np.cumsum(rng.exponential(scale, batch))
        if times[-1] >= until:
            yield from times[: np.searchsorted(times, until, side="left")].tolist()
            return
        yield from times.tolist()
        t = float(times[-1])
        batch = MAX_BATCH


def piecewise_arrivals(steps: Sequence[tuple[float, float]], start: float, until: float,
                       rng: np.random.Generator) -> Iterator[float]:
    """Non-homogeneous Poisson arrivals with a piecewise-constant rate.

    `steps` are (at, rate) pairs sorted by `at`; the rate holds from `at` until the next step
    and is 0 before the first. Each segment restarts the exponential gaps at its boundary,
    which is exact because the exponential distribution is memoryless.
    """
    _check_steps(steps)
    for i, (at, rate) in enumerate(steps):
        end = steps[i + 1][0] if i + 1 < len(steps) else math.inf
        lo, hi = max(at, start), min(end, until)
        if rate > 0 and lo < hi:
            yield from poisson_arrivals(rate, lo, hi, rng)


def _batch_size(expected: float) -> int:
    """Enough gaps to usually finish in one batch (mean + 4 sd), capped at MAX_BATCH."""
    if not math.isfinite(expected):
        return MAX_BATCH
    return max(16, min(MAX_BATCH, int(expected + 4.0 * math.sqrt(expected)) + 1))


def _check_rate(rate: float) -> None:
    if not (math.isfinite(rate) and rate >= 0):
        raise ValueError(f"arrival rate must be a finite number >= 0, got {rate}")


def _check_steps(steps: Sequence[tuple[float, float]]) -> None:
    for i, (_at, rate) in enumerate(steps):
        _check_rate(rate)
        if i and steps[i][0] <= steps[i - 1][0]:
            raise ValueError(f"rate steps must be sorted by time, got {list(steps)}")

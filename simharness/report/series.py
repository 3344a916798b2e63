"""Time series of one run, computed from its per-ticket records with numpy.

Pure functions: records in, arrays out. The plots draw them and tests check them, so the
figures never compute anything a test cannot see. Times are simulated seconds; accuracy
and failures are binned by arrival (what a customer arriving then experienced), latency
and costs by finish time (when the work ended and the money was spent).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ..records import STATUSES, TicketRecord

#: Bin widths the default picks from, so bins fall on round minutes and hours.
NICE_BINS = (10.0, 15.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0, 900.0, 1800.0, 3600.0,
             7200.0, 10800.0, 21600.0, 43200.0, 86400.0)

#: Statuses that count as a failed ticket (everything but "ok").
FAILED_STATUSES = tuple(s for s in STATUSES if s != "ok")


def default_bin(duration: float) -> float:
    """About 120 bins over the run, never under 10 s, rounded up to a round width."""
    wanted = max(duration / 120.0, 10.0)
    for width in NICE_BINS:
        if width >= wanted:
            return width
    return math.ceil(wanted / 86400.0) * 86400.0


def bin_edges(duration: float, bin_s: float | None = None) -> np.ndarray:
    """Edges from 0 covering `duration` (at least one bin)."""
    width = float(bin_s) if bin_s else default_bin(duration)
    if width <= 0 or not math.isfinite(width):
        raise ValueError(f"bin width must be a positive number of seconds, got {bin_s!r}")
    count = max(1, math.ceil(duration / width - 1e-9))
    return np.arange(count + 1, dtype=float) * width


def _bin_index(times: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Bin of each time; times past the last edge (drain) land in the last bin."""
    index = np.searchsorted(edges, times, side="right") - 1
    return np.clip(index, 0, len(edges) - 2)


def _arrivals(records: Sequence[TicketRecord]) -> np.ndarray:
    return np.fromiter((r.arrived_at for r in records), dtype=float, count=len(records))


@dataclass(frozen=True)
class Binned:
    """A rate per bin: `hits / total`, NaN where a bin has no tickets."""

    edges: np.ndarray
    hits: np.ndarray
    total: np.ndarray

    @property
    def centers(self) -> np.ndarray:
        return (self.edges[:-1] + self.edges[1:]) / 2

    @property
    def rate(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.total > 0, self.hits / np.maximum(self.total, 1), np.nan)


def accuracy_over_time(records: Sequence[TicketRecord], edges: np.ndarray) -> Binned:
    """Routing accuracy of the tickets arriving in each bin (exact route-set match, as in
    `routing.accuracy`: a failed ticket predicts nothing)."""
    bins = _bin_index(_arrivals(records), edges)
    correct = np.fromiter((set(r.pred_route) == set(r.true_route) for r in records),
                          dtype=float, count=len(records))
    n = len(edges) - 1
    return Binned(edges, np.bincount(bins, weights=correct, minlength=n)[:n],
                  np.bincount(bins, minlength=n)[:n].astype(float))


def latency_percentiles(records: Sequence[TicketRecord], edges: np.ndarray,
                        quantiles: Sequence[float] = (50, 95, 99)) -> dict[float, np.ndarray]:
    """Latency (queue wait + service) percentiles of finished tickets, per bin of finish
    time: a ticket's latency shows when its work ended, so a follow-up answered slowly
    inside a fault window counts there, not at its conversation's first arrival (which
    would draw the slowdown before the fault began)."""
    done = [r for r in records if r.finished_at is not None]
    n = len(edges) - 1
    out = {q: np.full(n, np.nan) for q in quantiles}
    if not done:
        return out
    finished = np.fromiter((r.finished_at for r in done), dtype=float, count=len(done))
    bins = _bin_index(finished, edges)
    latency = np.fromiter((r.wait_s + r.service_s for r in done), dtype=float, count=len(done))
    order = np.argsort(bins, kind="stable")
    bins, latency = bins[order], latency[order]
    starts = np.searchsorted(bins, np.arange(n + 1))
    for i in range(n):
        chunk = latency[starts[i]:starts[i + 1]]
        if chunk.size:
            for q, value in zip(quantiles, np.percentile(chunk, quantiles), strict=True):
                out[q][i] = value
    return out


def cumulative_cost(records: Sequence[TicketRecord]) -> tuple[np.ndarray, np.ndarray]:
    """(time, cumulative USD) at each ticket's finish (its arrival if it never finished)."""
    times = np.fromiter((r.finished_at if r.finished_at is not None else r.arrived_at
                         for r in records), dtype=float, count=len(records))
    costs = np.fromiter((r.cost_usd for r in records), dtype=float, count=len(records))
    order = np.argsort(times, kind="stable")
    return times[order], np.cumsum(costs[order])


def failures_over_time(records: Sequence[TicketRecord],
                       edges: np.ndarray) -> dict[str, np.ndarray]:
    """Failed tickets per arrival bin, one array per failed status."""
    n = len(edges) - 1
    out: dict[str, np.ndarray] = {}
    for status in FAILED_STATUSES:
        times = np.array([r.arrived_at for r in records if r.status == status], dtype=float)
        out[status] = (np.bincount(_bin_index(times, edges), minlength=n)[:n]
                       if times.size else np.zeros(n, dtype=int))
    return out


def baseline_cost_rate(records: Sequence[TicketRecord], until: float) -> float | None:
    """USD per simulated second spent by tickets finished before `until` (the first fault):
    the slope to compare the rest of the run against. None when there is nothing before."""
    if until <= 0:
        return None
    spent = sum(r.cost_usd for r in records
                if r.finished_at is not None and r.finished_at < until)
    return spent / until if spent > 0 else None

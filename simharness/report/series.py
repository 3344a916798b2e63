"""Time series of one run, computed with numpy from a few numbers per ticket.

Pure functions: a `Timeline` (or a list of records, turned into one) in, arrays out. The
plots draw them and tests check them, so the figures never compute anything a test cannot
see. Times are simulated seconds; accuracy and failures are binned by arrival (what a
customer arriving then experienced), latency and costs by finish time (when the work ended
and the money was spent).

A `Timeline` holds six numbers per ticket, not the records: a million tickets take about
35 MB, and `TimelineBuilder` fills one while the records stream past (see digest.py).
"""

from __future__ import annotations

import math
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from ..metrics._common import float_sum
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


_STATUS_CODES = {status: code for code, status in enumerate(STATUSES)}


@dataclass(frozen=True)
class Timeline:
    """What the time series need of each ticket, one array entry per ticket in record
    order: arrival, finish (NaN when it never finished), latency (queue wait + service),
    cost, status (a code into `STATUSES`, -1 for any other) and whether it was routed
    right (the predicted set of routes is the true set, as in `routing.accuracy`)."""

    arrived_at: np.ndarray
    finished_at: np.ndarray
    latency: np.ndarray
    cost_usd: np.ndarray
    status: np.ndarray
    correct: np.ndarray

    @classmethod
    def of(cls, records: Iterable[TicketRecord]) -> Timeline:
        builder = TimelineBuilder()
        for record in records:
            builder.add(record)
        return builder.build()

    def __len__(self) -> int:
        return int(self.arrived_at.size)

    @property
    def finished(self) -> np.ndarray:
        return ~np.isnan(self.finished_at)

    @property
    def failed(self) -> np.ndarray:
        """Tickets whose status is not "ok"."""
        return self.status != _STATUS_CODES["ok"]

    def with_status(self, status: str) -> np.ndarray:
        return self.status == _STATUS_CODES[status]


class TimelineBuilder:
    """A Timeline filled one record at a time (compact arrays, no record kept)."""

    def __init__(self) -> None:
        self._floats = {name: array("d") for name in ("arrived_at", "finished_at", "latency",
                                                      "cost_usd")}
        self._status = array("b")
        self._correct = array("b")

    def add(self, record: TicketRecord) -> None:
        floats = self._floats
        floats["arrived_at"].append(record.arrived_at)
        finished = record.finished_at
        floats["finished_at"].append(math.nan if finished is None else finished)
        floats["latency"].append(record.wait_s + record.service_s)
        floats["cost_usd"].append(record.cost_usd)
        self._status.append(_STATUS_CODES.get(record.status, -1))
        self._correct.append(set(record.pred_route) == set(record.true_route))

    def build(self) -> Timeline:
        """The arrays, over the builder's memory (no copy)."""
        arrays = {name: np.frombuffer(values, dtype=float)
                  for name, values in self._floats.items()}
        return Timeline(**arrays, status=np.frombuffer(self._status, dtype=np.int8),
                        correct=np.frombuffer(self._correct, dtype=np.int8).view(bool))


def as_timeline(run: Timeline | Sequence[TicketRecord]) -> Timeline:
    """A Timeline as is; records turned into one."""
    return run if isinstance(run, Timeline) else Timeline.of(run)


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


def accuracy_over_time(run: Timeline | Sequence[TicketRecord], edges: np.ndarray) -> Binned:
    """Routing accuracy of the tickets arriving in each bin (exact route-set match, as in
    `routing.accuracy`: a failed ticket predicts nothing)."""
    timeline = as_timeline(run)
    bins = _bin_index(timeline.arrived_at, edges)
    n = len(edges) - 1
    return Binned(edges, np.bincount(bins, weights=timeline.correct.astype(float),
                                     minlength=n)[:n],
                  np.bincount(bins, minlength=n)[:n].astype(float))


def latency_percentiles(run: Timeline | Sequence[TicketRecord], edges: np.ndarray,
                        quantiles: Sequence[float] = (50, 95, 99)) -> dict[float, np.ndarray]:
    """Latency (queue wait + service) percentiles of finished tickets, per bin of finish
    time: a ticket's latency shows when its work ended, so a follow-up answered slowly
    inside a fault window counts there, not at its conversation's first arrival (which
    would draw the slowdown before the fault began)."""
    timeline = as_timeline(run)
    done = timeline.finished
    n = len(edges) - 1
    out = {q: np.full(n, np.nan) for q in quantiles}
    if not done.any():
        return out
    bins = _bin_index(timeline.finished_at[done], edges)
    latency = timeline.latency[done]
    order = np.argsort(bins, kind="stable")
    bins, latency = bins[order], latency[order]
    starts = np.searchsorted(bins, np.arange(n + 1))
    for i in range(n):
        chunk = latency[starts[i]:starts[i + 1]]
        if chunk.size:
            for q, value in zip(quantiles, np.percentile(chunk, quantiles), strict=True):
                out[q][i] = value
    return out


def cumulative_cost(run: Timeline | Sequence[TicketRecord]) -> tuple[np.ndarray, np.ndarray]:
    """(time, cumulative USD) at each ticket's finish (its arrival if it never finished)."""
    timeline = as_timeline(run)
    times = np.where(timeline.finished, timeline.finished_at, timeline.arrived_at)
    order = np.argsort(times, kind="stable")
    return times[order], np.cumsum(timeline.cost_usd[order])


def thin_steps(times: np.ndarray, values: np.ndarray,
               most: int) -> tuple[np.ndarray, np.ndarray]:
    """A step curve (times sorted) through at most about `most` of its points: the last
    point in each of `most` equal slices of its time span, so every kept value is exact and
    no step moves by more than a slice. Curves of `most` points or fewer come back whole."""
    if times.size <= most:
        return times, values
    edges = np.linspace(float(times[0]), float(times[-1]), most + 1)
    last = np.unique(np.searchsorted(times, edges[1:], side="right") - 1)
    return times[last], values[last]


def failures_over_time(run: Timeline | Sequence[TicketRecord],
                       edges: np.ndarray) -> dict[str, np.ndarray]:
    """Failed tickets per arrival bin, one array per failed status."""
    timeline = as_timeline(run)
    n = len(edges) - 1
    out: dict[str, np.ndarray] = {}
    for status in FAILED_STATUSES:
        times = timeline.arrived_at[timeline.with_status(status)]
        out[status] = (np.bincount(_bin_index(times, edges), minlength=n)[:n]
                       if times.size else np.zeros(n, dtype=int))
    return out


def baseline_cost_rate(run: Timeline | Sequence[TicketRecord], until: float) -> float | None:
    """USD per simulated second spent by tickets finished before `until` (the first fault):
    the slope to compare the rest of the run against. None when there is nothing before."""
    if until <= 0:
        return None
    timeline = as_timeline(run)
    before = timeline.finished_at < until  # NaN (never finished) compares False
    spent = float_sum(timeline.cost_usd[before])
    return spent / until if spent > 0 else None

"""How an agent lives through each fault: when it noticed, when it was back to normal,
and what the fault cost in failed tickets, extra calls and extra money.

A fault's window is its first span's start to its last span's end (a flapping fault is
one episode). "Normal" is the baseline: tickets that arrived before the fault started
while no fault was active (else every ticket outside all fault windows).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..columns import NOTICED_ACTIONS, NOTICED_WORDS, Columns, noticed
from ..records import TicketRecord
from ._common import NAN, Window, float_sum, ratio
from .routing import in_windows

__all__ = ["FIELDS", "NOTICED_ACTIONS", "NOTICED_WORDS", "ROLL_MIN_TICKETS", "ROLL_SECONDS",
           "TOLERANCE", "baseline_records", "noticed", "recovery_metrics"]

#: Accuracy may sit this far below the baseline and still count as recovered.
TOLERANCE = 0.05
#: The rolling window judged after a fault: this many simulated seconds of arrivals...
ROLL_SECONDS = 60.0
#: ...but never fewer tickets than this, so one lucky ticket is not a recovery.
ROLL_MIN_TICKETS = 20
FIELDS = ("start", "end", "time_to_detect", "time_to_recover", "tickets", "failed",
          "unhandled", "retry_amplification", "cost_amplification")


@dataclass(frozen=True)
class _Rolling:
    """What the rolling windows read, with arrivals sorted so windows are index ranges."""

    arrived: np.ndarray
    correct_so_far: np.ndarray  # cumulative count of right routings, length n + 1
    latency: np.ndarray  # end to end, NaN if unfinished

    @classmethod
    def of(cls, cols: Columns) -> _Rolling:
        return cls(cols.arrived_at, np.concatenate(([0], np.cumsum(cols.correct.astype(int)))),
                   cols.end_to_end)

    def index(self, t: float) -> int:
        """Index of the first ticket that arrived at or after `t`."""
        return int(np.searchsorted(self.arrived, t, side="left"))


@dataclass(frozen=True)
class _Baseline:
    accuracy: float
    p95: float
    calls: float
    cost: float

    @classmethod
    def of(cls, cols: Columns, rows: np.ndarray) -> _Baseline:
        latency = cols.end_to_end[rows]
        latency = latency[~np.isnan(latency)]
        n = int(rows.sum())
        return cls(ratio(int(cols.correct[rows].sum()), n),
                   float(np.percentile(latency, 95)) if latency.size else NAN,
                   ratio(int(cols.calls[rows].sum()), n),
                   ratio(float_sum(cols.cost_usd[rows]), n))


def _baseline_rows(arrived: np.ndarray, windows: Sequence[Window], start: float) -> np.ndarray:
    """Fault-free tickets that arrived before `start`; if none, all fault-free tickets."""
    clean = ~in_windows(arrived, [(s, e) for _, s, e in windows])
    before = clean & (arrived < start)
    return before if before.any() else clean


def baseline_records(records: Sequence[TicketRecord], windows: Sequence[Window],
                     start: float) -> list[TicketRecord]:
    """The records the baseline of a fault starting at `start` is measured on."""
    arrived = np.array([r.arrived_at for r in records], dtype=float)
    rows = _baseline_rows(arrived, windows, start)
    return [r for r, keep in zip(records, rows.tolist(), strict=True) if keep]


def time_to_detect(cols: Columns, roll: _Rolling, name: str, start: float) -> float:
    """Seconds from the fault's start until the first ticket arriving since then that it
    touched finished with a decision showing the agent noticed; inf if none did."""
    first = roll.index(start)
    hits = (cols.finished[first:] & cols.noticed[first:]
            & cols.has(cols.faults[first:], name))
    if not hits.any():
        return math.inf
    return float(cols.finished_at[first + int(np.argmax(hits))] - start)


def time_to_recover(roll: _Rolling, end: float, base: _Baseline) -> float:
    """Seconds after the fault's end until a rolling window of arrivals is back to the
    baseline's accuracy (minus TOLERANCE) and p95 latency (x1.5, or +1 s if that is more).
    0 when the first window after the end already is; inf if none is; NaN if unknowable."""
    first = roll.index(end)
    n = roll.arrived.size
    if first >= n or math.isnan(base.accuracy) or math.isnan(base.p95):
        return NAN
    p95_limit = max(base.p95 * 1.5, base.p95 + 1.0)
    for i in range(first, n):
        j = max(roll.index(roll.arrived[i] + ROLL_SECONDS), i + ROLL_MIN_TICKETS)
        if j > n:
            break  # too few tickets left to judge
        accuracy = (roll.correct_so_far[j] - roll.correct_so_far[i]) / (j - i)
        if accuracy < base.accuracy - TOLERANCE:
            continue
        latency = roll.latency[i:j]
        latency = latency[~np.isnan(latency)]
        if latency.size and np.percentile(latency, 95) <= p95_limit:
            return 0.0 if i == first else float(roll.arrived[i] - end)
    return math.inf


def recovery_metrics(cols: Columns, windows: Sequence[Window], *, sim_seconds: float,
                     never_ending: Collection[str] = ()) -> dict[str, dict[str, Any]]:
    """The `recovery` section: one entry per fault name with at least one window.

    A fault that never ends, or ends when arrivals stop, has no "after": its
    time_to_recover is NaN (its `end` is inf if it never ends).
    """
    roll = _Rolling.of(cols)
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(n for n, _, _ in windows):
        own = [(s, e) for n, s, e in windows if n == name]
        start, end = min(s for s, _ in own), max(e for _, e in own)
        inside = slice(roll.index(start), roll.index(end))
        tickets = inside.stop - inside.start if inside.stop > inside.start else 0
        base = _Baseline.of(cols, _baseline_rows(cols.arrived_at, windows, start))
        open_ended = name in never_ending or end >= sim_seconds
        status = cols.status[inside]
        out[name] = {
            "start": float(start),
            "end": math.inf if name in never_ending else float(end),
            "time_to_detect": time_to_detect(cols, roll, name, start),
            "time_to_recover": NAN if open_ended else time_to_recover(roll, end, base),
            "tickets": tickets,
            "failed": int((status != cols.status_names.index("ok")).sum()),
            "unhandled": int((status == cols.status_names.index("error")).sum()),
            "retry_amplification": ratio(ratio(int(cols.calls[inside].sum()), tickets),
                                         base.calls),
            "cost_amplification": ratio(ratio(float_sum(cols.cost_usd[inside]), tickets),
                                        base.cost),
        }
    return out

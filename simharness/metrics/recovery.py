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

from ..records import TicketRecord
from ._common import NAN, Window, end_to_end, ratio

#: Accuracy may sit this far below the baseline and still count as recovered.
TOLERANCE = 0.05
#: The rolling window judged after a fault: this many simulated seconds of arrivals...
ROLL_SECONDS = 60.0
#: ...but never fewer tickets than this, so one lucky ticket is not a recovery.
ROLL_MIN_TICKETS = 20
#: Actions (in `TicketRecord.actions`) that show the agent saw something was wrong.
NOTICED_ACTIONS = frozenset({"fallback", "degraded", "safe_default", "breaker_open"})
NOTICED_WORDS = ("fallback", "breaker")
FIELDS = ("start", "end", "time_to_detect", "time_to_recover", "tickets", "failed",
          "unhandled", "retry_amplification", "cost_amplification")


def noticed(record: TicketRecord) -> bool:
    """The agent's decision shows it knew it was degraded (a fallback, a breaker, ...)."""
    reason = record.reason.lower()
    return (any(a in NOTICED_ACTIONS for a in record.actions)
            or any(word in reason for word in NOTICED_WORDS))


@dataclass(frozen=True)
class _Columns:
    """Per-ticket arrays sorted by arrival, so windows are index ranges."""

    records: list[TicketRecord]
    arrived: np.ndarray
    correct_so_far: np.ndarray  # cumulative count of right routings, length n + 1
    latency: np.ndarray  # end to end, NaN if unfinished

    @classmethod
    def of(cls, records: Sequence[TicketRecord]) -> _Columns:
        ordered = sorted(records, key=lambda r: r.arrived_at)
        correct = np.array([set(r.pred_route) == set(r.true_route) for r in ordered], dtype=int)
        return cls(ordered, np.array([r.arrived_at for r in ordered], dtype=float),
                   np.concatenate(([0], np.cumsum(correct))), end_to_end(ordered))

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
    def of(cls, records: Sequence[TicketRecord]) -> _Baseline:
        latency = end_to_end(records)
        latency = latency[~np.isnan(latency)]
        n = len(records)
        return cls(ratio(sum(set(r.pred_route) == set(r.true_route) for r in records), n),
                   float(np.percentile(latency, 95)) if latency.size else NAN,
                   ratio(sum(r.calls for r in records), n),
                   ratio(sum(r.cost_usd for r in records), n))


def _outside(record: TicketRecord, spans: Sequence[tuple[float, float]]) -> bool:
    return not any(s <= record.arrived_at < e for s, e in spans)


def baseline_records(records: Sequence[TicketRecord], windows: Sequence[Window],
                     start: float) -> list[TicketRecord]:
    """Fault-free tickets that arrived before `start`; if none, all fault-free tickets."""
    spans = [(s, e) for _, s, e in windows]
    clean = [r for r in records if _outside(r, spans)]
    return [r for r in clean if r.arrived_at < start] or clean


def time_to_detect(cols: _Columns, name: str, start: float) -> float:
    """Seconds from the fault's start until the first ticket arriving since then that it
    touched finished with a decision showing the agent noticed; inf if none did."""
    for record in cols.records[cols.index(start):]:
        if record.finished_at is not None and name in record.faults and noticed(record):
            return record.finished_at - start
    return math.inf


def time_to_recover(cols: _Columns, end: float, base: _Baseline) -> float:
    """Seconds after the fault's end until a rolling window of arrivals is back to the
    baseline's accuracy (minus TOLERANCE) and p95 latency (x1.5, or +1 s if that is more).
    0 when the first window after the end already is; inf if none is; NaN if unknowable."""
    first = cols.index(end)
    n = len(cols.records)
    if first >= n or math.isnan(base.accuracy) or math.isnan(base.p95):
        return NAN
    p95_limit = max(base.p95 * 1.5, base.p95 + 1.0)
    for i in range(first, n):
        j = max(cols.index(cols.arrived[i] + ROLL_SECONDS), i + ROLL_MIN_TICKETS)
        if j > n:
            break  # too few tickets left to judge
        accuracy = (cols.correct_so_far[j] - cols.correct_so_far[i]) / (j - i)
        if accuracy < base.accuracy - TOLERANCE:
            continue
        latency = cols.latency[i:j]
        latency = latency[~np.isnan(latency)]
        if latency.size and np.percentile(latency, 95) <= p95_limit:
            return 0.0 if i == first else float(cols.arrived[i] - end)
    return math.inf


def recovery_metrics(records: Sequence[TicketRecord], windows: Sequence[Window], *,
                     sim_seconds: float,
                     never_ending: Collection[str] = ()) -> dict[str, dict[str, Any]]:
    """The `recovery` section: one entry per fault name with at least one window.

    A fault that never ends, or ends when arrivals stop, has no "after": its
    time_to_recover is NaN (its `end` is inf if it never ends).
    """
    cols = _Columns.of(records)
    out: dict[str, dict[str, Any]] = {}
    for name in dict.fromkeys(n for n, _, _ in windows):
        own = [(s, e) for n, s, e in windows if n == name]
        start, end = min(s for s, _ in own), max(e for _, e in own)
        inside = cols.records[cols.index(start):cols.index(end)]
        base = _Baseline.of(baseline_records(records, windows, start))
        open_ended = name in never_ending or end >= sim_seconds
        out[name] = {
            "start": float(start),
            "end": math.inf if name in never_ending else float(end),
            "time_to_detect": time_to_detect(cols, name, start),
            "time_to_recover": NAN if open_ended else time_to_recover(cols, end, base),
            "tickets": len(inside),
            "failed": sum(r.status != "ok" for r in inside),
            "unhandled": sum(r.status == "error" for r in inside),
            "retry_amplification": ratio(ratio(sum(r.calls for r in inside), len(inside)),
                                         base.calls),
            "cost_amplification": ratio(ratio(sum(r.cost_usd for r in inside), len(inside)),
                                        base.cost),
        }
    return out

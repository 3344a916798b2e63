"""What the report reads from a run's per-ticket records, gathered while they stream past.

A report of a million tickets cannot hold a million `TicketRecord`s. Its figures need six
numbers per ticket (a `series.Timeline`, about 35 MB for a million), its sentences need
counts (failures by kind, safety nets, per fault), and its tables need a few hundred whole
records (the audit trail, the disagreements with production) chosen evenly over the run.
So `RunDigest` reads the records twice, in arrival order, never holding more than a
record at a time: the first pass keeps the numbers and counts, and from them how many
tickets each table shows and which; the second (only when a table is drawn) keeps those
records.

The selection is the one the report always made from the whole list (see `audit_counts`
and `spread`), so a small run's report is the same page it was.
"""

from __future__ import annotations

import bisect
import itertools
import math
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import cached_property
from operator import attrgetter

import numpy as np

from ..metrics.recovery import noticed
from ..metrics.routing import in_windows
from ..metrics.shadow import disagrees
from ..records import TicketRecord
from . import story
from .series import Timeline, TimelineBuilder

Window = tuple[str, float, float]
#: A function giving a fresh iterator over the run's records, in arrival order.
RecordSource = Callable[[], Iterable[TicketRecord]]

#: At most this many tickets in the audit trail; records.jsonl has the rest.
AUDIT_LIMIT = 200
#: The audit trail's groups, in page order: what a reader should see first.
AUDIT_GROUPS = ("failed during a fault window", "failed outside fault windows",
                "misrouted during a fault window", "misrouted outside fault windows")

_by_arrival_and_id = attrgetter("arrived_at", "ticket_id")


# --------------------------------------------------------------------------- choosing rows

def audit_counts(totals: Sequence[int], limit: int = AUDIT_LIMIT) -> list[int]:
    """How many tickets of each audit group (of sizes `totals`, in AUDIT_GROUPS order) the
    trail shows: while later groups have tickets, a group takes at most half of the room
    the groups before it left (a smaller group leaves the rest to the next); room the later
    groups did not need goes back to the earlier ones."""
    room = limit
    counts: list[int] = []
    for i, total in enumerate(totals):
        share = max(room // 2, 1) if any(totals[i + 1:]) else room
        counts.append(min(total, share, room))
        room -= counts[-1]
    for i, total in enumerate(totals):
        extra = min(room, total - counts[i])
        counts[i] += extra
        room -= extra
    return counts


def spread(total: int, count: int) -> list[int]:
    """`count` positions evenly spaced over `total` items (first and last included)."""
    if count >= total:
        return list(range(total))
    if count <= 0:
        return []
    step = (total - 1) / max(count - 1, 1)
    return [round(i * step) for i in range(count)]


def in_arrival_and_id_order(records: Iterable[TicketRecord]) -> Iterator[TicketRecord]:
    """Records already in arrival order, re-ordered by (arrival, ticket id): only tickets
    arriving at the same instant change places, so one instant is held at a time."""
    for _, same_time in itertools.groupby(records, key=attrgetter("arrived_at")):
        tied = list(same_time)
        if len(tied) > 1:
            tied.sort(key=attrgetter("ticket_id"))
        yield from tied


class _Spans:
    """Is a time inside any of some [start, end) spans? (merged, then bisected)."""

    def __init__(self, spans: Iterable[tuple[float, float]]) -> None:
        merged: list[list[float]] = []
        for start, end in sorted(spans):
            if merged and start <= merged[-1][1]:
                merged[-1][1] = max(merged[-1][1], end)
            else:
                merged.append([start, end])
        self.starts = [s for s, _ in merged]
        self.ends = [e for _, e in merged]

    def __contains__(self, time: float) -> bool:
        i = bisect.bisect_right(self.starts, time) - 1
        return i >= 0 and time < self.ends[i]


# --------------------------------------------------------------------------- the digest

@dataclass(frozen=True)
class FaultFacts:
    """One fault as the report tells it."""

    #: Tickets that arrived in its windows.
    arrived: int
    #: Those of them that failed, per failure kind, most frequent first.
    failed: dict[str, int]
    #: Tickets whose calls or payload it changed (anywhere in the run).
    changed: int
    #: How the agent first showed it noticed (its actions, else its reason), among the
    #: tickets of its windows it changed; None when it never did.
    first_noticed: str | None


class RunDigest:
    """A run's records boiled down to what the report shows (see the module docstring).

    `records` gives a fresh iterator over the records in arrival order each time it is
    called (twice at most); `windows` are the fault windows. `keep` turns each record a
    table will show into the form it is shown in (e.g. as saved to JSON).
    """

    def __init__(self, records: RecordSource, windows: Sequence[Window], *,
                 keep: Callable[[TicketRecord], TicketRecord] | None = None) -> None:
        self._records = records
        self._keep = keep
        self.windows = list(windows)
        self._scan()

    def _scan(self) -> None:
        """The first pass: numbers, counts, and what the tables will need."""
        timeline = TimelineBuilder()
        failures: Counter[str] = Counter()
        kind_codes: dict[str, int] = {}
        failed_kinds = array("i")  # the kind of each failed ticket, as a code
        nets: Counter[str] = Counter()
        changed: Counter[str] = Counter()
        names = dict.fromkeys(name for name, _, _ in self.windows)
        spans = {name: _Spans((s, e) for n, s, e in self.windows if n == name)
                 for name in names}
        first: dict[str, str] = {}
        looking = set(names)  # faults whose first noticing ticket is still to be found
        disagreeing, with_past, count = 0, False, 0
        in_order, last = True, -math.inf
        for record in self._records():
            count += 1
            timeline.add(record)
            arrived = record.arrived_at
            if arrived < last:
                in_order = False
            last = arrived
            if record.status != "ok":
                kind = story.failure_kind(record)
                failures[kind] += 1
                failed_kinds.append(kind_codes.setdefault(kind, len(kind_codes)))
            for net in story.nets_used(record):
                nets[net] += 1
            if record.faults:
                touched = set(record.faults)
                changed.update(touched)
                if looking & touched and noticed(record):
                    for name in looking & touched:
                        if arrived in spans[name]:
                            first[name] = story.how_noticed(record)
                    looking -= first.keys()
            if record.past_route is not None:
                with_past = True
                disagreeing += disagrees(record)
        self.count = count
        self.timeline: Timeline = timeline.build()
        self.failures = story.most_frequent_first(failures)
        self.safety_nets = story.most_frequent_first(nets)
        self.in_order = in_order
        self.has_production = with_past
        self.disagreements = disagreeing
        self.audit_totals = self._audit_totals()
        self._kinds = list(kind_codes)
        self._failed_kinds = np.frombuffer(failed_kinds, dtype=np.int32)
        self._changed = changed
        self._first = first

    def fault(self, name: str) -> FaultFacts:
        """What the report says of fault `name`."""
        spans = [(s, e) for n, s, e in self.windows if n == name]
        arrived = self.timeline.arrived_at
        inside = in_windows(arrived[self.timeline.failed], spans)
        kinds = np.bincount(self._failed_kinds[inside], minlength=len(self._kinds))
        failed = {kind: int(n) for kind, n in zip(self._kinds, kinds.tolist(), strict=True) if n}
        return FaultFacts(arrived=int(np.count_nonzero(in_windows(arrived, spans))),
                          failed=story.most_frequent_first(failed),
                          changed=self._changed[name], first_noticed=self._first.get(name))

    def _audit_totals(self) -> list[int]:
        timeline = self.timeline
        in_fault = in_windows(timeline.arrived_at, [(s, e) for _, s, e in self.windows])
        failed = timeline.failed
        misrouted = ~failed & ~timeline.correct
        return [int(np.count_nonzero(group & where)) for group in (failed, misrouted)
                for where in (in_fault, ~in_fault)]

    # -- the tables (the second pass, on first use) ------------------------------------
    @property
    def audit(self) -> list[tuple[str, list[TicketRecord], int]]:
        """The audit trail: per non-empty group (AUDIT_GROUPS order), its chosen tickets in
        (arrival, ticket id) order, and its total."""
        chosen = self._chosen
        return [(name, chosen[g], self.audit_totals[g])
                for g, name in enumerate(AUDIT_GROUPS) if self.audit_totals[g]]

    @property
    def shadow(self) -> list[TicketRecord]:
        """Tickets routed differently from production, at most AUDIT_LIMIT of them, evenly
        over the run in (arrival, ticket id) order (`disagreements` says how many there
        are)."""
        return self._chosen[len(AUDIT_GROUPS)]

    @cached_property
    def _chosen(self) -> list[list[TicketRecord]]:
        """The records of each audit group, then of the disagreements, that the tables
        show: one more pass over the records."""
        counts = audit_counts(self.audit_totals)
        wanted = [set(spread(total, n)) for total, n in zip(self.audit_totals, counts,
                                                              strict=True)]
        wanted.append(set(spread(self.disagreements, AUDIT_LIMIT)))
        chosen: list[list[TicketRecord]] = [[] for _ in wanted]
        seen = [0] * len(wanted)
        left = sum(len(w) for w in wanted)
        faulty = _Spans((s, e) for _, s, e in self.windows)
        keep = self._keep or (lambda record: record)
        records = self._records()
        ordered = (in_arrival_and_id_order(records) if self.in_order
                   else iter(sorted(records, key=_by_arrival_and_id)))
        for record in ordered:
            if not left:
                break
            group = None
            if record.status != "ok":
                group = 0 if record.arrived_at in faulty else 1
            elif set(record.pred_route) != set(record.true_route):
                group = 2 if record.arrived_at in faulty else 3
            for g in (group, 4 if disagrees(record) else None):
                if g is None:
                    continue
                if seen[g] in wanted[g]:
                    chosen[g].append(keep(record))
                    left -= 1
                seen[g] += 1
        return chosen


def digest_of(records: Sequence[TicketRecord],
              windows: Sequence[Window] = ()) -> RunDigest:
    """The digest of records held in a list (tests, small runs)."""
    return RunDigest(lambda: records, windows)

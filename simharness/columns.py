"""Per-ticket records as columns: the compact form every metric is computed from.

A million `TicketRecord`s do not fit in a few hundred megabytes; the numbers metrics need
do. `ColumnBuilder` takes records chunk by chunk as they stream to disk and keeps only
numpy arrays: times, costs and counts as numbers, statuses as small codes, and the
list-valued fields (routes, tags, faults, client findings) as codes into one table of
distinct values, so a run of a million tickets with a handful of routes stores a handful
of route lists. Rows end in arrival order (ties in the order tickets finished), the order
of `Result.records`.
"""

from __future__ import annotations

import bisect
from array import array
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from .records import STATUSES, TicketRecord

#: Examples of each client-audit finding kind kept (the first ones in arrival order).
CLIENT_EXAMPLES = 3
#: Actions (in `TicketRecord.actions`) that show the agent saw something was wrong.
NOTICED_ACTIONS = frozenset({"fallback", "degraded", "safe_default", "breaker_open"})
NOTICED_WORDS = ("fallback", "breaker")

Values = tuple[str, ...]


def noticed(record: TicketRecord) -> bool:
    """The agent's decision shows it knew it was degraded (a fallback, a breaker, ...)."""
    reason = record.reason.lower()
    return (any(a in NOTICED_ACTIONS for a in record.actions)
            or any(word in reason for word in NOTICED_WORDS))


class _Interner:
    """Distinct values (tuples of strings, or status names) and their codes."""

    def __init__(self) -> None:
        self.codes: dict[Any, int] = {}
        self.values: list[Any] = []

    def code(self, value: Any) -> int:
        code = self.codes.get(value)
        if code is None:
            code = self.codes[value] = len(self.values)
            self.values.append(value)
        return code


_FLOATS = ("arrived_at", "wait_s", "service_s", "cost_usd")
_INTS = ("tokens_in", "tokens_out", "calls", "retries")
_LISTS = ("true_route", "pred_route", "tags", "faults")


@dataclass
class Columns:
    """Arrays with one entry per ticket, in arrival order.

    List-valued fields are integer codes into `values` (`past_route` is -1 when a ticket
    has no production decision); `status` codes index `status_names`; `past_escalate` is
    -1 (unknown), 0 or 1; `finished_at` is NaN for a ticket that never finished.
    """

    arrived_at: np.ndarray
    finished_at: np.ndarray
    wait_s: np.ndarray
    service_s: np.ndarray
    cost_usd: np.ndarray
    tokens_in: np.ndarray
    tokens_out: np.ndarray
    calls: np.ndarray
    retries: np.ndarray
    status: np.ndarray
    true_escalate: np.ndarray
    pred_escalate: np.ndarray
    noticed: np.ndarray
    true_route: np.ndarray
    pred_route: np.ndarray
    tags: np.ndarray
    faults: np.ndarray
    client: np.ndarray
    past_route: np.ndarray
    past_escalate: np.ndarray
    status_names: list[str]
    values: list[Values]
    #: Per client-finding kind, its first examples as (ticket id, detail), in arrival order.
    client_examples: dict[str, list[tuple[str, str]]] = field(default_factory=dict)

    @classmethod
    def of(cls, records: Iterable[TicketRecord]) -> Columns:
        """Columns of records already in arrival order (a list of records, e.g. a test's)."""
        builder = ColumnBuilder()
        builder.add(records)
        return builder.build()

    def __len__(self) -> int:
        return int(self.arrived_at.size)

    def take(self, rows: np.ndarray) -> Columns:
        """The rows at `rows` (a boolean mask or indices), in order; the tables are shared."""
        arrays = {name: getattr(self, name)[rows] for name in _ARRAYS}
        return Columns(**arrays, status_names=self.status_names, values=self.values,
                       client_examples=self.client_examples)

    # -- derived arrays, computed once --------------------------------------------------
    @cached_property
    def set_ids(self) -> np.ndarray:
        """For each value code, the code of its distinct *set* of labels, so that equal
        codes mean the same set (a list's order and repeats do not matter)."""
        sets: dict[frozenset[str], int] = {}
        return np.array([sets.setdefault(frozenset(v), len(sets)) for v in self.values],
                        dtype=np.int64)

    @cached_property
    def correct(self) -> np.ndarray:
        """Routed right: the predicted set of routes is the true set."""
        return self.same_set(self.pred_route, self.true_route)

    @cached_property
    def finished(self) -> np.ndarray:
        return ~np.isnan(self.finished_at)

    @cached_property
    def end_to_end(self) -> np.ndarray:
        """Queue wait plus service time, NaN for tickets that never finished."""
        return np.where(self.finished, self.wait_s + self.service_s, np.nan)

    def same_set(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Row by row: do codes `a` and `b` hold the same set of labels?"""
        ids = self.set_ids
        return ids[a] == ids[b]

    def has(self, column: np.ndarray, label: str) -> np.ndarray:
        """Rows whose list in `column` holds `label`."""
        table = np.array([label in v for v in self.values] or [False], dtype=bool)
        return table[column]

    def lengths(self, column: np.ndarray) -> np.ndarray:
        """Rows' number of distinct labels in `column`."""
        table = np.array([len(set(v)) for v in self.values] or [0], dtype=np.int64)
        return table[column]

    def distinct(self, column: np.ndarray) -> list[Values]:
        """The distinct lists occurring in `column`, in code order."""
        return [self.values[c] for c in np.unique(column[column >= 0]).tolist()]

    def labels_in(self, column: np.ndarray) -> set[str]:
        """Every label occurring in `column`."""
        return {label for values in self.distinct(column) for label in values}

    def status_is(self, name: str) -> np.ndarray:
        if name not in self.status_names:
            return np.zeros(len(self), dtype=bool)
        return self.status == self.status_names.index(name)


#: Every array of `Columns` and its dtype.
_DTYPES: dict[str, Any] = {
    **dict.fromkeys(("arrived_at", "finished_at", "wait_s", "service_s", "cost_usd"), float),
    **dict.fromkeys(("tokens_in", "tokens_out"), np.int64),
    **dict.fromkeys(("calls", "retries"), np.int32),
    "status": np.int16,
    **dict.fromkeys(("true_escalate", "pred_escalate", "noticed"), bool),
    **dict.fromkeys(("true_route", "pred_route", "tags", "faults", "client", "past_route"),
                    np.int32),
    "past_escalate": np.int8,
}
_ARRAYS = tuple(_DTYPES)
#: Columns of codes into `Columns.values`.
_CODES = frozenset({"true_route", "pred_route", "tags", "faults", "client", "past_route"})
#: The `array` type code that stores each dtype (bools as bytes).
_TYPECODES = {np.dtype(float): "d", np.dtype(np.int64): "q", np.dtype(np.int32): "i",
              np.dtype(np.int16): "h", np.dtype(np.int8): "b", np.dtype(bool): "B"}


class ColumnBuilder:
    """Collects columns from records added chunk by chunk, then sorts them by arrival.

    Chunks are added in the order tickets finished (each chunk may be sorted by arrival
    already): the final order is by arrival time, ties by the order rows were added,
    which is `sorted(all records, key=arrived_at)` of the records in finishing order.

    Each column grows in one `array.array` (resized in place, a few percent at a time),
    not in a list of per-chunk arrays: a million rows of small pieces would fragment the
    heap and, when joined, briefly need the memory twice.
    """

    def __init__(self) -> None:
        self._parts: dict[str, array[Any]] = {
            name: array(_TYPECODES[np.dtype(dtype)]) for name, dtype in _DTYPES.items()}
        self._values = _Interner()
        self._statuses = _Interner()
        for status in STATUSES:
            self._statuses.code(status)
        self._rows = 0
        # per kind: sorted [(arrived_at, row, k, ticket id, detail)], at most CLIENT_EXAMPLES
        self._examples: dict[str, list[tuple[float, int, int, str, str]]] = {}

    def __len__(self) -> int:
        return self._rows

    def add(self, records: Iterable[TicketRecord]) -> None:
        """Append the columns of `records` (one chunk)."""
        chunk = records if isinstance(records, Sequence) else list(records)
        if not chunk:
            return
        put = self._put
        for name in _FLOATS + _INTS:
            put(name, [getattr(r, name) for r in chunk])
        put("finished_at", [np.nan if r.finished_at is None else r.finished_at for r in chunk])
        status = self._statuses.code
        put("status", [status(r.status) for r in chunk])
        for name in ("true_escalate", "pred_escalate"):
            put(name, [bool(getattr(r, name)) for r in chunk])
        put("noticed", [noticed(r) for r in chunk])
        code = self._values.code
        for name in _LISTS:
            put(name, [code(tuple(getattr(r, name))) for r in chunk])
        put("client", [code(tuple(f.partition(": ")[0] for f in r.client)) for r in chunk])
        put("past_route", [-1 if r.past_route is None else code(tuple(r.past_route))
                           for r in chunk])
        put("past_escalate", [-1 if r.past_escalate is None else int(bool(r.past_escalate))
                              for r in chunk])
        for offset, record in enumerate(chunk):
            if record.client:
                self._example(record, self._rows + offset)
        self._rows += len(chunk)

    def _put(self, name: str, values: list[Any]) -> None:
        self._parts[name].frombytes(np.array(values, dtype=_DTYPES[name]).tobytes())

    def _example(self, record: TicketRecord, row: int) -> None:
        for k, finding in enumerate(record.client):
            kind, _, detail = finding.partition(": ")
            shown = self._examples.setdefault(kind, [])
            key = (record.arrived_at, row, k, record.ticket_id, detail)
            if len(shown) < CLIENT_EXAMPLES or key < shown[-1]:
                bisect.insort(shown, key)
                del shown[CLIENT_EXAMPLES:]

    def build(self) -> Columns:
        """The columns in arrival order. Each column is released as soon as it is
        ordered, so building costs about one column of extra memory, not a copy of all."""
        arrived = self._column("arrived_at")
        in_order = bool((arrived[1:] >= arrived[:-1]).all())
        order = None if in_order else np.argsort(arrived, kind="stable")
        arrays: dict[str, np.ndarray] = {}
        narrow = len(self._values.values) < 2**15  # codes fit in half the bytes
        for name in _ARRAYS:
            column = arrived if name == "arrived_at" else self._column(name)
            column = column if order is None else column[order]
            if narrow and name in _CODES:
                column = column.astype(np.int16)
            arrays[name] = column
            del column
            self._parts[name] = array(self._parts[name].typecode)
        # In arrival order, the first occurrence of each kind comes first (dict order).
        ranked = sorted(self._examples.items(), key=lambda item: item[1][0][:3])
        examples = {kind: [(ticket, detail) for *_, ticket, detail in shown]
                    for kind, shown in ranked}
        return Columns(**arrays, status_names=list(self._statuses.values),
                       values=list(self._values.values), client_examples=examples)

    def _column(self, name: str) -> np.ndarray:
        """The column as a numpy array over the array's memory (no copy)."""
        data = self._parts[name]
        return np.frombuffer(data, dtype=_DTYPES[name]) if len(data) else \
            np.array([], dtype=_DTYPES[name])

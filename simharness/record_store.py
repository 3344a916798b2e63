"""Where a run's per-ticket records go: streamed to disk in chunks as tickets finish.

A run of a million tickets cannot hold a million `TicketRecord`s in memory. The engine
appends each finished record here; every `chunk_size` records the chunk is turned into
columns (for the metrics, see columns.py) and written to disk, as Parquet when pyarrow is
installed, else as JSON lines. A run that never fills a chunk never touches the disk.

Reading gives the records back in arrival order (ties in the order they finished), the
order `Result.records` always had: each chunk is written sorted by arrival, and reading
merges the chunks, a batch of each at a time. A chunk is opened only when the merge
reaches its first arrival, so only the few chunks whose arrival times overlap are open at
once (chunks are written as tickets finish, a little after they arrive), not all of them.

Unless a directory is given, chunks go to a fresh temporary directory that is removed
when the store is garbage-collected or the interpreter exits.
"""

from __future__ import annotations

import heapq
import json
import os
import shutil
import tempfile
import weakref
from collections.abc import Callable, Iterator
from dataclasses import fields
from functools import partial
from operator import attrgetter
from pathlib import Path
from typing import Any, Literal

from .columns import ColumnBuilder, Columns
from .records import TicketRecord

#: Records per chunk: the most the store holds in memory before writing them out.
CHUNK_RECORDS = 10_000
#: Rows read from each chunk at a time while merging chunks back into arrival order.
READ_BATCH = 256
#: Rows per Parquet row group: reading decodes one group per chunk at a time, so merging a
#: hundred chunks holds a hundred small groups, not a hundred whole chunks.
ROW_GROUP = 1_000

Format = Literal["parquet", "jsonl"]
FIELDS = tuple(f.name for f in fields(TicketRecord))
_by_arrival = attrgetter("arrived_at")


def default_format() -> Format:
    """`SIMHARNESS_RECORDS_FORMAT` (parquet or jsonl) when set; else Parquet when pyarrow
    is installed, else JSON lines."""
    chosen = os.environ.get("SIMHARNESS_RECORDS_FORMAT", "").strip().lower()
    if chosen in ("parquet", "jsonl"):
        return "jsonl" if chosen == "jsonl" else "parquet"
    try:
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        return "jsonl"
    return "parquet"


class RecordStore:
    """The records of one run: appended as tickets finish, read back in arrival order.

    `directory`: where chunks are written (created; old chunks in it are removed); None
    for a temporary directory made at the first chunk. `chunk_size`: records held in
    memory before a chunk is written (default CHUNK_RECORDS). `format`: "parquet" or
    "jsonl" (default: parquet when pyarrow is installed).
    """

    def __init__(self, directory: str | Path | None = None, *,
                 chunk_size: int | None = None, format: Format | None = None) -> None:
        chunk_size = CHUNK_RECORDS if chunk_size is None else chunk_size
        if chunk_size < 1:
            raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
        self.chunk_size = chunk_size
        self.format: Format = format or default_format()
        self._given = Path(directory) if directory is not None else None
        self._directory: Path | None = None
        self._buffer: list[TicketRecord] = []
        self._chunks: list[Path] = []
        self._chunk_starts: list[float] = []  # each chunk's first (earliest) arrival
        self._columns: ColumnBuilder | None = ColumnBuilder()
        self._built: Columns | None = None
        self._count = 0
        self._closed = False
        self._loaded: list[TicketRecord] | None = None
        #: The most records the store held in memory at once while the run went on.
        self.most_buffered = 0

    # -- writing -------------------------------------------------------------------------
    def append(self, record: TicketRecord) -> None:
        """Add a finished ticket's record; a full buffer is written out as a chunk."""
        if self._closed:
            raise RuntimeError("the record store is closed")
        self._buffer.append(record)
        self._count += 1
        if len(self._buffer) > self.most_buffered:
            self.most_buffered = len(self._buffer)
        if len(self._buffer) >= self.chunk_size:
            self._flush()

    def close(self) -> RecordStore:
        """No more records: the last partial chunk is written (or, when nothing was
        written yet, kept in memory) and the columns are built."""
        if self._closed:
            return self
        self._closed = True
        if self._chunks and self._buffer:
            self._flush()
        else:
            self._buffer.sort(key=_by_arrival)
            assert self._columns is not None
            self._columns.add(self._buffer)
        assert self._columns is not None
        self._built = self._columns.build()
        self._columns = None
        return self

    def _flush(self) -> None:
        chunk = sorted(self._buffer, key=_by_arrival)
        self._buffer = []
        assert self._columns is not None
        self._columns.add(chunk)
        path = self._chunk_dir() / f"part-{len(self._chunks):05d}.{self.format}"
        if self.format == "parquet":
            _write_parquet(chunk, path)
        else:
            _write_jsonl(chunk, path)
        self._chunks.append(path)
        self._chunk_starts.append(chunk[0].arrived_at)

    def _chunk_dir(self) -> Path:
        if self._directory is None:
            if self._given is None:
                self._directory = Path(tempfile.mkdtemp(prefix="simharness-records-"))
                weakref.finalize(self, shutil.rmtree, self._directory, ignore_errors=True)
            else:
                self._given.mkdir(parents=True, exist_ok=True)
                for old in self._given.glob("part-*.*"):
                    old.unlink()
                self._directory = self._given
        return self._directory

    # -- reading -------------------------------------------------------------------------
    @property
    def columns(self) -> Columns:
        """The records as columns, in arrival order (after `close`)."""
        if self._built is None:
            raise RuntimeError("the record store is still open: close() it first")
        return self._built

    def release_columns(self) -> None:
        """Drop the columns (metrics are computed): a big run's arrays are freed."""
        self._built = None

    @property
    def directory(self) -> Path | None:
        """Where the chunks are, or None while every record is in memory."""
        return self._directory

    @property
    def chunks(self) -> list[Path]:
        return list(self._chunks)

    @property
    def in_memory(self) -> bool:
        """True when no chunk was written: every record is held in memory."""
        return not self._chunks

    def __len__(self) -> int:
        return self._count

    def __iter__(self) -> Iterator[TicketRecord]:
        """Every record, in arrival order, reading a batch of each chunk at a time."""
        if self._loaded is not None:
            return iter(self._loaded)
        if not self._chunks:
            return iter(sorted(self._buffer, key=_by_arrival) if not self._closed
                        else self._buffer)
        if not self._closed:
            raise RuntimeError("the record store is still open: close() it first")
        read = _read_parquet if self.format == "parquet" else _read_jsonl
        return _merge([(start, partial(read, path)) for start, path in
                       zip(self._chunk_starts, self._chunks, strict=True)])

    def __getitem__(self, index: int) -> TicketRecord:
        return self.load()[index]

    def load(self) -> list[TicketRecord]:
        """Every record as a list, in arrival order (read from disk once, then kept)."""
        if self._chunks and self._loaded is None:
            self._loaded = list(self)
        if self._loaded is not None:
            return self._loaded
        if not self._closed:
            return sorted(self._buffer, key=_by_arrival)
        return self._buffer


def _merge(chunks: list[tuple[float, Callable[[], Iterator[TicketRecord]]]]
           ) -> Iterator[TicketRecord]:
    """The records of chunks sorted by arrival, merged into arrival order; equal arrivals
    in chunk order, then in their order within a chunk (what `heapq.merge` of all chunks
    gives). `chunks` are (first arrival, opener) in the order written; a chunk is opened
    only once no record before its first arrival is left to give."""
    waiting = sorted(range(len(chunks)), key=lambda i: (chunks[i][0], i))
    heads: list[tuple[float, int, TicketRecord, Iterator[TicketRecord]]] = []
    next_waiting = 0
    while heads or next_waiting < len(waiting):
        while next_waiting < len(waiting) and (
                not heads or chunks[waiting[next_waiting]][0] <= heads[0][0]):
            index = waiting[next_waiting]
            next_waiting += 1
            records = chunks[index][1]()
            first = next(records, None)
            if first is not None:
                heapq.heappush(heads, (first.arrived_at, index, first, records))
        arrived, index, record, records = heads[0]
        following = next(records, None)
        if following is None:
            heapq.heappop(heads)
        else:
            heapq.heapreplace(heads, (following.arrived_at, index, following, records))
        yield record


# -- chunk files ---------------------------------------------------------------------------

def _row(record: TicketRecord) -> dict[str, Any]:
    return {name: getattr(record, name) for name in FIELDS}


def _write_jsonl(chunk: list[TicketRecord], path: Path) -> None:
    """One JSON object per line; floats keep every digit (NaN and inf as JSON's
    NaN/Infinity, which Python reads back), so the records come back exactly."""
    with path.open("w", encoding="utf-8") as fh:
        for record in chunk:
            fh.write(json.dumps(_row(record)) + "\n")


def _read_jsonl(path: Path) -> Iterator[TicketRecord]:
    with path.open(encoding="utf-8") as fh:
        for line in fh:
            yield TicketRecord(**json.loads(line))


def _schema() -> Any:
    import pyarrow as pa

    text, number, whole = pa.string(), pa.float64(), pa.int64()
    texts, flag = pa.list_(pa.string()), pa.bool_()
    types = {
        "ticket_id": text, "conversation_id": text, "arrived_at": number,
        "started_at": number, "finished_at": number, "status": text, "true_route": texts,
        "pred_route": texts, "true_escalate": flag, "pred_escalate": flag,
        "confidence": number, "tags": texts, "cost_usd": number, "tokens_in": whole,
        "tokens_out": whole, "calls": whole, "retries": whole, "error": text,
        "faults": texts, "events": whole, "wait_s": number, "service_s": number,
        "reason": text, "actions": texts, "log": texts, "client": texts, "origin": text,
        "past_route": texts, "past_escalate": flag,
    }
    missing = set(FIELDS) - set(types)
    assert not missing, f"no Parquet type for record fields {sorted(missing)}"
    return pa.schema([(name, types[name]) for name in FIELDS])


def _write_parquet(chunk: list[TicketRecord], path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _schema()
    arrays = [pa.array([getattr(r, name) for r in chunk], type=schema.field(name).type)
              for name in FIELDS]
    pq.write_table(pa.Table.from_arrays(arrays, schema=schema), path,
                   row_group_size=ROW_GROUP)
    del arrays
    pa.default_memory_pool().release_unused()  # else the pool keeps every chunk's pages


def _read_parquet(path: Path) -> Iterator[TicketRecord]:
    import pyarrow.parquet as pq

    for batch in pq.ParquetFile(path).iter_batches(batch_size=READ_BATCH):
        for row in batch.to_pylist():
            yield TicketRecord(**row)

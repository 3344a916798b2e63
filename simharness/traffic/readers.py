"""Readers of replayed files: rows in file order, each with where it starts, and random
access to a row again by that position.

A reader never loads a whole CSV or JSONL file: it reads one physical line at a time, so
memory stays flat however large the file is. The limits are explicit, so a hostile or
broken file costs a bounded amount of memory:

- a physical line longer than `MAX_LINE_BYTES` is an unreadable row (the reader skips to
  the next line without holding it);
- a CSV field longer than `MAX_LINE_BYTES` characters (an unterminated quote swallowing
  the file) is an unreadable row, and reading resumes on the next line;
- a JSON document (`.json`) is parsed whole, and refused beyond `MAX_JSON_BYTES`: use
  JSONL for large files;
- Parquet streams by record batch; only random access (a shuffled or re-ordered replay)
  loads the needed columns of the whole file.

Text encodings must be ASCII-compatible (UTF-8, Latin-1, cp1252...): lines are split on
the newline byte. A line that does not decode makes its row unreadable, not the file.
"""

from __future__ import annotations

import codecs
import csv
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Protocol

#: Longest physical line (and CSV field) a reader accepts, in bytes.
MAX_LINE_BYTES = 16 << 20
#: Largest JSON document (`.json`, read whole) a reader accepts, in bytes.
MAX_JSON_BYTES = 256 << 20
#: Rows a JSON/JSONL reader looks at to learn the column names.
COLUMN_SAMPLE = 1000
#: Suffix -> format, for `format: auto`.
SUFFIXES = {".csv": "csv", ".tsv": "tsv", ".jsonl": "jsonl", ".ndjson": "jsonl",
            ".json": "json", ".parquet": "parquet", ".pq": "parquet"}


class ReaderError(Exception):
    """The file as a whole cannot be read (missing, wrong format, no pyarrow...)."""


@dataclass(slots=True)
class RawRow:
    """One row as read: its values, or why it could not be read.

    `line` is the 1-based physical line where the row starts (CSV, JSONL) or its 1-based
    ordinal (JSON, Parquet); `offset` is what `Reader.row_at` needs to read it again.
    """

    line: int
    offset: int
    values: dict[str, Any] | None
    problem: str = ""


class Reader(Protocol):
    """What the replay needs from a file format."""

    path: Path
    #: How `RawRow.line` is named in messages: "line" or "row".
    unit: str

    def columns(self) -> list[str] | None:
        """The column names (None when the file has no rows to learn them from)."""
        ...

    def rows(self) -> Iterator[RawRow]:
        """Every row in file order; blank lines are not rows."""
        ...

    def row_at(self, offset: int, line: int) -> RawRow:
        """The row read at `offset` (from `RawRow.offset`) again."""
        ...

    def where(self, line: int) -> str:
        """`line 17`, `row 3`, `test[12]`: where a row is, for messages."""
        ...

    def close(self) -> None:
        ...


def file_format(path: Path, given: str | None) -> str:
    """The format to read `path` as: `given`, else from its suffix."""
    if given is not None:
        return given
    fmt = SUFFIXES.get(path.suffix.lower())
    if fmt is None:
        known = ", ".join(sorted(SUFFIXES))
        raise ReaderError(f"cannot tell the format of {path.name} from its suffix "
                          f"(known: {known}); set `format:`")
    return fmt


def check_encoding(encoding: str) -> None:
    """Only ASCII-compatible encodings work with newline-split lines."""
    try:
        info = codecs.lookup(encoding)
    except LookupError:
        raise ReaderError(f"unknown text encoding {encoding!r}") from None
    if "\n".encode(info.name) != b"\n":
        raise ReaderError(f"encoding {encoding!r} is not ASCII-compatible (lines are split "
                          "on the newline byte); convert the file to UTF-8")


def open_reader(path: Path, fmt: str, *, encoding: str = "utf-8",
                delimiter: str | None = None, records: list[str] | None = None,
                needed: list[str] | None = None) -> Reader:
    """A reader for `path`; ReaderError when the file cannot be opened as `fmt`.

    `needed` names the columns the replay uses (Parquet reads only those).
    """
    if not path.is_file():
        raise ReaderError("no such file" if not path.exists() else "not a file")
    if fmt in ("csv", "tsv", "jsonl"):
        check_encoding(encoding)
    if fmt == "csv":
        return CSVReader(path, encoding, delimiter or ",")
    if fmt == "tsv":
        return CSVReader(path, encoding, delimiter or "\t")
    if fmt == "jsonl":
        return JSONLReader(path, encoding)
    if fmt == "json":
        return JSONReader(path, records)
    if fmt == "parquet":
        return ParquetReader(path, needed)
    raise ReaderError(f"unknown format {fmt!r}")


class _Lines:
    """Decoded physical lines of a binary file, knowing the byte offset and number of the
    next line. A line that is too long or does not decode is replaced (by an empty line, or
    its decodable part) and noted in `bad`, so the row it belongs to can be rejected."""

    __slots__ = ("fh", "encoding", "pos", "lineno", "bad")

    def __init__(self, fh: IO[bytes], encoding: str, pos: int, lineno: int) -> None:
        self.fh = fh
        self.encoding = encoding
        self.pos = pos
        self.lineno = lineno  # lines consumed so far
        self.bad: dict[int, str] = {}

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        raw = self.fh.readline(MAX_LINE_BYTES + 1)
        if not raw:
            raise StopIteration
        self.lineno += 1
        self.pos += len(raw)
        if len(raw) > MAX_LINE_BYTES and not raw.endswith(b"\n"):
            while True:  # skip the rest of the line without holding it
                chunk = self.fh.readline(1 << 20)
                self.pos += len(chunk)
                if not chunk or chunk.endswith(b"\n"):
                    break
            self.bad[self.lineno] = f"line longer than {MAX_LINE_BYTES:,} bytes"
            return "\n"
        try:
            return raw.decode(self.encoding)
        except UnicodeDecodeError as exc:
            self.bad[self.lineno] = (f"undecodable bytes (not {self.encoding}): "
                                     f"{raw[exc.start:exc.start + 4]!r}")
            return raw.decode(self.encoding, "replace")

    def problem_since(self, first: int) -> str:
        """The first problem noted on lines >= `first` (then forget them all)."""
        if not self.bad:
            return ""
        found = [self.bad[n] for n in sorted(self.bad) if n >= first]
        self.bad.clear()
        return found[0] if found else ""


class CSVReader:
    """CSV (or TSV) with a header row; a row with the wrong number of fields is unreadable."""

    unit = "line"

    def __init__(self, path: Path, encoding: str, delimiter: str) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        if csv.field_size_limit() < MAX_LINE_BYTES:  # the default is 128 KiB
            csv.field_size_limit(MAX_LINE_BYTES)
        self._fh: IO[bytes] = path.open("rb")
        lines = _Lines(self._fh, encoding, 0, 0)
        try:
            header = next(csv.reader(lines, delimiter=delimiter))
        except StopIteration:
            header = []
        except csv.Error as exc:
            raise ReaderError(f"cannot read the header row: {exc}") from None
        problem = lines.problem_since(1)
        if problem:
            raise ReaderError(f"cannot read the header row: {problem}")
        if header:
            header[0] = header[0].lstrip("\ufeff")  # a byte-order mark
        self.header = [h.strip() for h in header]
        self._data_start, self._header_lines = lines.pos, lines.lineno

    def columns(self) -> list[str] | None:
        return list(self.header) if self.header else None

    def where(self, line: int) -> str:
        return f"line {line}"

    def rows(self) -> Iterator[RawRow]:
        self._fh.seek(self._data_start)
        lines = _Lines(self._fh, self.encoding, self._data_start, self._header_lines)
        reader = csv.reader(lines, delimiter=self.delimiter)
        while True:
            start, first = lines.pos, lines.lineno + 1
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                lines.bad.clear()
                yield RawRow(first, start, None, f"CSV error: {exc}")
                continue
            row = self._row(fields, first, start, lines.problem_since(first))
            if row is not None:
                yield row

    def row_at(self, offset: int, line: int) -> RawRow:
        self._fh.seek(offset)
        lines = _Lines(self._fh, self.encoding, offset, line - 1)
        try:
            fields = next(csv.reader(lines, delimiter=self.delimiter))
        except (StopIteration, csv.Error) as exc:
            return RawRow(line, offset, None, f"CSV error: {exc}")
        row = self._row(fields, line, offset, lines.problem_since(line))
        return row if row is not None else RawRow(line, offset, None, "blank line")

    def _row(self, fields: list[str], line: int, offset: int, problem: str) -> RawRow | None:
        if problem:
            return RawRow(line, offset, None, problem)
        if not fields or fields == [""] and len(self.header) != 1:
            return None  # a blank line
        if len(fields) != len(self.header):
            return RawRow(line, offset, None, f"expected {len(self.header)} fields, "
                                              f"got {len(fields)}")
        return RawRow(line, offset, dict(zip(self.header, fields, strict=True)))

    def close(self) -> None:
        self._fh.close()


class JSONLReader:
    """One JSON object per line; a line that is not one is an unreadable row."""

    unit = "line"

    def __init__(self, path: Path, encoding: str) -> None:
        self.path = path
        self.encoding = encoding
        self._fh: IO[bytes] = path.open("rb")

    def columns(self) -> list[str] | None:
        seen: dict[str, None] = {}
        for n, row in enumerate(self.rows()):
            if n >= COLUMN_SAMPLE:
                break
            seen.update(dict.fromkeys(row.values or ()))
        return list(seen) if seen else None

    def where(self, line: int) -> str:
        return f"line {line}"

    def rows(self) -> Iterator[RawRow]:
        self._fh.seek(0)
        lines = _Lines(self._fh, self.encoding, 0, 0)
        while True:
            start = lines.pos
            try:
                text = next(lines)
            except StopIteration:
                return
            row = self._row(text, lines.lineno, start, lines.problem_since(lines.lineno))
            if row is not None:
                yield row

    def row_at(self, offset: int, line: int) -> RawRow:
        self._fh.seek(offset)
        lines = _Lines(self._fh, self.encoding, offset, line - 1)
        text = next(lines, "")
        row = self._row(text, line, offset, lines.problem_since(line))
        return row if row is not None else RawRow(line, offset, None, "blank line")

    @staticmethod
    def _row(text: str, line: int, offset: int, problem: str) -> RawRow | None:
        if problem:
            return RawRow(line, offset, None, problem)
        if not text.strip():
            return None
        try:
            value = json.loads(text)
        except ValueError as exc:
            return RawRow(line, offset, None, f"invalid JSON: {exc}")
        if not isinstance(value, dict):
            return RawRow(line, offset, None, f"expected a JSON object, got "
                                              f"{type(value).__name__}")
        return RawRow(line, offset, value)

    def close(self) -> None:
        self._fh.close()


def _row_values(item: Any) -> dict[str, Any] | None:
    """A JSON row: an object as is, an array as columns '0', '1', ..."""
    if isinstance(item, dict):
        return item
    if isinstance(item, list):
        return {str(i): v for i, v in enumerate(item)}
    return None


class JSONReader:
    """A JSON document: an array of rows, or an object whose `records` keys hold arrays.

    Read whole (up to MAX_JSON_BYTES): JSON has no line to resume at, so it cannot stream
    with the standard library. Rows are numbered 1.. across the selected arrays.
    """

    unit = "row"

    def __init__(self, path: Path, records: list[str] | None) -> None:
        self.path = path
        size = path.stat().st_size
        if size > MAX_JSON_BYTES:
            raise ReaderError(f"JSON document of {size:,} bytes is over the {MAX_JSON_BYTES:,} "
                              "byte limit of whole-file formats; convert it to JSONL "
                              "(one object per line), which streams")
        try:
            document = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as exc:
            raise ReaderError(f"invalid JSON: {exc}") from None
        self._parts: list[tuple[str, list[Any]]] = []
        if records is None:
            if not isinstance(document, list):
                keys = ", ".join(repr(k) for k in list(document)[:10]) \
                    if isinstance(document, dict) else ""
                raise ReaderError("the document is not an array of rows: set `records` to "
                                  f"the key(s) holding them (its keys: {keys})")
            self._parts.append(("", document))
        else:
            if not isinstance(document, dict):
                raise ReaderError("`records` names keys, but the document is not an object")
            for key in records:
                if key not in document:
                    raise ReaderError(f"no key {key!r} in the document (its keys: "
                                      f"{', '.join(repr(k) for k in list(document)[:20])})")
                if not isinstance(document[key], list):
                    raise ReaderError(f"key {key!r} does not hold an array of rows")
                self._parts.append((key, document[key]))

    def columns(self) -> list[str] | None:
        seen: dict[str, None] = {}
        for n, row in enumerate(self.rows()):
            if n >= COLUMN_SAMPLE:
                break
            seen.update(dict.fromkeys(row.values or ()))
        return list(seen) if seen else None

    def where(self, line: int) -> str:
        index = line - 1
        for key, items in self._parts:
            if index < len(items):
                return f"{key}[{index}]" if key else f"row {line}"
            index -= len(items)
        return f"row {line}"

    def rows(self) -> Iterator[RawRow]:
        n = 0
        for _key, items in self._parts:
            for item in items:
                n += 1
                yield self._row(item, n)

    def row_at(self, offset: int, line: int) -> RawRow:
        index = offset
        for _key, items in self._parts:
            if index < len(items):
                return self._row(items[index], line)
            index -= len(items)
        return RawRow(line, offset, None, "no such row")

    @staticmethod
    def _row(item: Any, n: int) -> RawRow:
        values = _row_values(item)
        if values is None:
            return RawRow(n, n - 1, None, f"expected an object or an array, got "
                                          f"{type(item).__name__}")
        return RawRow(n, n - 1, values)

    def close(self) -> None:
        self._parts = []


class ParquetReader:
    """Parquet through pyarrow (the `parquet` extra), streamed by record batch."""

    unit = "row"
    BATCH = 4096

    def __init__(self, path: Path, needed: list[str] | None) -> None:
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise ReaderError("reading Parquet needs pyarrow: pip install "
                              "'simharness[parquet]' (or replay a CSV/JSONL export)") from None
        self.path = path
        try:
            self._file = pq.ParquetFile(path)
        except Exception as exc:  # pyarrow raises its own ArrowInvalid/OSError kinds
            raise ReaderError(f"not a readable Parquet file: {exc}") from None
        names = list(self._file.schema_arrow.names)
        self._names = names
        self._needed = [c for c in (needed or names) if c in names] or names
        self._table: Any = None

    def columns(self) -> list[str] | None:
        return list(self._names)

    def where(self, line: int) -> str:
        return f"row {line}"

    def rows(self) -> Iterator[RawRow]:
        n = 0
        for batch in self._file.iter_batches(batch_size=self.BATCH, columns=self._needed):
            for values in batch.to_pylist():
                n += 1
                yield RawRow(n, n - 1, values)

    def row_at(self, offset: int, line: int) -> RawRow:
        if self._table is None:
            self._table = self._file.read(columns=self._needed)
        values = self._table.slice(offset, 1).to_pylist()
        return RawRow(line, offset, values[0]) if values else RawRow(line, offset, None,
                                                                      "no such row")

    def close(self) -> None:
        self._table = None

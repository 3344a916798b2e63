"""Historical tickets from a file, replayed as a traffic source.

A `ReplaySource` reads its file in passes, never holding the rows:

1. a *survey* parses every row once: it counts unreadable and filtered rows (listing the
   first ones by line), learns the routes and the first timestamp, and checks whether the
   file is in time order;
2. an *index* pass, only when the replay order is not the file order (a file out of time
   order under `timing: original`, `shuffle`, or conversations spread over the file),
   keeps 32 bytes per row (offset, line, time, conversation key) and re-reads rows by
   offset when their ticket is due;
3. the replay itself, which turns rows into `Ticket`s as the simulation asks for them.

So a file in time order without conversations replays with flat memory whatever its size;
the index costs 32 bytes per row. Rows are grouped into conversations by
`conversation_id`: a ticket is one conversation, its later rows follow-ups delivered at
their own (compressed) times.
"""

from __future__ import annotations

import hashlib
import math
from array import array
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from ..rng import BufferedSampler, derive_seed, hash_uniform, numpy_stream
from .arrivals import poisson_arrivals
from .config import EveryTiming, RateTiming, ReplayTraffic
from .customers import ReplayCustomers
from .readers import Reader, ReaderError, file_format, open_reader
from .row_mapping import MappingError, ReplayRow, RowMapper
from .ticket import Customer, Message, Ticket

#: Unreadable rows listed by line in the results (all are counted).
LISTED_UNREADABLE = 20


class ReplayError(MappingError):
    """A replay that cannot start: a missing file, an unknown column, nothing left to
    replay, or (with `strict: true`) the first unreadable row."""


@dataclass
class ReplayStats:
    """What a replay did with its file, for the results and the report."""

    path: str
    rows: int = 0
    unreadable: int = 0
    filtered: int = 0
    tickets: int = 0
    sent: int = 0
    before_start: int = 0
    after_end: int = 0
    first_unreadable: list[dict[str, Any]] = field(default_factory=list)
    unreadable_by_field: dict[str, int] = field(default_factory=dict)
    first_timestamp: str | None = None
    last_timestamp: str | None = None
    in_time_order: bool = True
    labelled: bool = True

    def to_json(self) -> dict[str, Any]:
        return {"kind": "replay", **self.__dict__}


def resolve(config: ReplayTraffic, base_dir: Path) -> Path:
    return (base_dir / config.path).resolve()


def open_for(config: ReplayTraffic, base_dir: Path) -> tuple[Reader, RowMapper]:
    """Open the file and compile the mapping; MappingError names the field at fault."""
    path = resolve(config, base_dir)
    try:
        fmt = file_format(path, config.format)
        records = [config.records] if isinstance(config.records, str) else config.records
        needed = _needed_columns(config)
        reader = open_reader(path, fmt, encoding=config.encoding, delimiter=config.delimiter,
                             records=records, needed=needed)
    except ReaderError as exc:
        raise MappingError(("path",), f"cannot replay {config.path}: {exc}") from None
    try:
        columns = reader.columns()
        if columns is None:
            raise MappingError(("path",), f"{config.path} has no rows")
        return reader, RowMapper(config, columns, base_dir)
    except MappingError as exc:
        reader.close()
        if exc.field[:1] in (("columns",), ("where",)):
            exc.message = f"{config.path}: {exc.message}"
            exc.args = (exc.message,)
        raise


def check(config: ReplayTraffic, base_dir: Path) -> None:
    """Load-time check: the file opens, and every mapped column and filter exists."""
    reader, _mapper = open_for(config, base_dir)
    reader.close()


def _needed_columns(config: ReplayTraffic) -> list[str]:
    from .row_mapping import compile_field, spec_columns

    needed: list[str] = []
    for spec in config.columns.mapped().values():
        try:
            needed += [c.split(".", 1)[0] for c in spec_columns(compile_field(spec))]
        except ValueError:
            pass
    return list(dict.fromkeys([*needed, *config.where]))


def _conversation_key(conversation: str) -> int:
    digest = hashlib.blake2b(conversation.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1  # non-negative in an int64


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat()


class ReplaySource:
    """Tickets from one `replay:` section, in arrival order."""

    def __init__(self, config: ReplayTraffic, *, base_dir: Path, seed: int,
                 customers: ReplayCustomers, escalation_threshold: float,
                 id_prefix: str = "R") -> None:
        self.config = config
        self.reader, self.mapper = open_for(config, base_dir)
        self.seed = seed if config.seed is None else config.seed
        self.customers = customers
        self.threshold = escalation_threshold
        self.id_prefix = id_prefix
        self.origin_name = Path(config.path).name
        self.stats = ReplayStats(path=config.path, labelled="route" in self.mapper.fields)
        self.routes: list[str] = list(config.routes or [])
        self.first_at: float | None = None
        self._sorted = True
        self._accepted = 0
        self._kept_by_share = 0
        self._sampler: BufferedSampler | None = None
        self._survey()

    # -- pass 1: survey -------------------------------------------------------------------
    def _scan(self, count: bool) -> Iterator[ReplayRow]:
        """Readable rows that pass the filters, in file order (`count`: keep statistics)."""
        mapper, stats = self.mapper, self.stats
        for raw in self.reader.rows():
            if count:
                stats.rows += 1
            if raw.values is None:
                if count:
                    self._unreadable(raw.line, "file", raw.problem)
                continue
            if not mapper.keep(raw.values):
                if count:
                    stats.filtered += 1
                continue
            row = mapper.parse(raw.values, raw.line, raw.offset)
            if isinstance(row, tuple):
                if count:
                    self._unreadable(raw.line, *row)
                continue
            yield row

    def _unreadable(self, line: int, field_name: str, reason: str) -> None:
        stats = self.stats
        where = self.reader.where(line)
        if self.config.strict:
            path: tuple[str | int, ...] = ("path",) if field_name == "file" else \
                ("columns", field_name)
            raise ReplayError(path, f"{self.config.path} {where}: {reason} (strict: true "
                                    "stops at the first unreadable row)")
        stats.unreadable += 1
        stats.unreadable_by_field[field_name] = stats.unreadable_by_field.get(field_name, 0) + 1
        if len(stats.first_unreadable) < LISTED_UNREADABLE:
            stats.first_unreadable.append({"line": line, "where": where, "reason": reason})

    def _survey(self) -> None:
        seen_routes = dict.fromkeys(self.routes)
        previous = -math.inf
        first = last = None
        n = 0
        share = self.config.sample if (self.config.sample or 1) < 1 else None
        for row in self._scan(count=True):
            n += 1
            if share is not None and self._sampled(share, row.line):
                self._kept_by_share += 1
            for route in row.routes:
                if route not in seen_routes:
                    seen_routes[route] = None
            if row.at is not None:
                if row.at < previous:
                    self._sorted = False
                previous = row.at
                first = row.at if first is None else min(first, row.at)
                last = row.at if last is None else max(last, row.at)
        self._accepted = n
        if n == 0:
            where = "where" if self.config.where and self.stats.filtered else "path"
            detail = (f"all {self.stats.rows:,} rows were filtered out by `where`"
                      if where == "where" else
                      f"none of its {self.stats.rows:,} rows is readable"
                      + (f" (first: {self.stats.first_unreadable[0]['where']}: "
                         f"{self.stats.first_unreadable[0]['reason']})"
                         if self.stats.first_unreadable else ""))
            raise ReplayError((where,), f"nothing to replay from {self.config.path}: {detail}")
        self.routes = list(seen_routes)
        self.first_at = first
        self.stats.in_time_order = self._sorted
        if first is not None and last is not None:
            self.stats.first_timestamp, self.stats.last_timestamp = _iso(first), _iso(last)

    # -- planning -------------------------------------------------------------------------
    @property
    def original_timing(self) -> bool:
        return self.config.timing == "original"

    def _needs_index(self) -> bool:
        return (self.config.shuffle or "conversation_id" in self.mapper.fields
                or (self.original_timing and not self._sorted))

    def tickets(self, epoch: float, duration: float) -> Iterator[Ticket]:
        """Tickets in arrival order, `created_at` in simulated seconds from `epoch` (the
        run's t=0 as epoch seconds); none after `duration`."""
        groups = self._groups_indexed() if self._needs_index() else self._groups_streamed()
        times = self._arrival_times(epoch)
        stats = self.stats
        sent = 0
        for rows in groups:
            at = next(times) if not self.original_timing else self._original_time(rows, epoch)
            if at is None:
                stats.before_start += 1
                continue
            if at > duration:
                stats.after_end = stats.tickets - sent - stats.before_start
                break
            yield self._ticket(sent, rows, at)
            sent += 1
            stats.sent = sent
        self.reader.close()

    def _selection(self, total: int) -> tuple[float | None, np.ndarray | None, int]:
        """(share to keep by hash, or None), (sorted positions to keep, or None), limit."""
        sample = self.config.sample
        limit = self.config.limit or total
        if sample is None:
            return None, None, limit
        if sample < 1:
            return sample, None, limit
        count = min(int(sample), total)
        rng = numpy_stream(self.seed, "replay", self.config.path, "sample")
        return None, np.sort(rng.choice(total, size=count, replace=False)), limit

    def _groups_streamed(self) -> Iterator[list[ReplayRow]]:
        """One row per ticket, in file order, selection applied on the fly."""
        share, positions, limit = self._selection(self._accepted)
        self.stats.tickets = self._selected_count(self._accepted, share, positions, limit)
        taken = 0
        pointer = 0
        for k, row in enumerate(self._scan(count=False)):
            if share is not None and not self._sampled(share, row.line):
                continue
            if positions is not None:
                if pointer >= len(positions) or positions[pointer] != k:
                    continue
                pointer += 1
            if taken >= limit:
                return
            taken += 1
            yield [row]

    def _sampled(self, share: float, key: object) -> bool:
        return hash_uniform(self.seed, "replay", self.config.path, "sample", key) < share

    def _selected_count(self, total: int, share: float | None, positions: np.ndarray | None,
                        limit: int) -> int:
        if positions is not None:
            return min(len(positions), limit)
        if share is None:
            return min(total, limit)
        return min(self._kept_by_share, limit)

    def _groups_indexed(self) -> Iterator[list[ReplayRow]]:
        """Tickets in replay order from an index of the file, rows read back by offset."""
        offsets, lines, times, keys = array("q"), array("q"), array("d"), array("q")
        conversations = "conversation_id" in self.mapper.fields
        for row in self._scan(count=False):
            offsets.append(row.offset)
            lines.append(row.line)
            times.append(math.nan if row.at is None else row.at)
            keys.append(_conversation_key(row.conversation) if conversations and
                        row.conversation else -row.line)
        offset_a = np.frombuffer(offsets, dtype=np.int64)
        line_a = np.frombuffer(lines, dtype=np.int64)
        time_a = np.frombuffer(times, dtype=np.float64)
        key_a = np.frombuffer(keys, dtype=np.int64)
        ordinal = np.arange(len(offset_a))
        # rows of a conversation together, each conversation in time (then file) order
        when = np.where(np.isnan(time_a), np.inf, time_a) if self.original_timing or \
            conversations else ordinal.astype(float)
        order = np.lexsort((ordinal, when, key_a))
        starts = np.flatnonzero(np.r_[True, key_a[order][1:] != key_a[order][:-1]])
        bounds = np.r_[starts, len(order)]
        first_rows = order[starts]
        # tickets in replay order: by first time (original timing) or first file position
        if self.original_timing:
            ticket_order = np.lexsort((first_rows, when[first_rows]))
        else:
            ticket_order = np.argsort(first_rows, kind="stable")
        share, positions, limit = self._selection(len(starts))
        if positions is not None:
            ticket_order = ticket_order[positions]
        if share is not None:
            keep = [self._sampled(share, self._group_key(int(line_a[first_rows[t]]),
                                                         int(key_a[first_rows[t]])))
                    for t in ticket_order]
            ticket_order = ticket_order[np.array(keep, dtype=bool)]
        if self.config.shuffle:
            rng = numpy_stream(self.seed, "replay", self.config.path, "shuffle")
            ticket_order = ticket_order[rng.permutation(len(ticket_order))]
        ticket_order = ticket_order[:limit]
        self.stats.tickets = len(ticket_order)
        for t in ticket_order:
            members = order[bounds[t]:bounds[t + 1]]
            read = (self._row_at(int(offset_a[m]), int(line_a[m])) for m in members)
            rows = [r for r in read if r is not None]
            if rows:
                yield rows

    @staticmethod
    def _group_key(line: int, key: int) -> object:
        return line if key < 0 else key

    def _row_at(self, offset: int, line: int) -> ReplayRow | None:
        raw = self.reader.row_at(offset, line)
        if raw.values is None:
            return None
        row = self.mapper.parse(raw.values, raw.line, raw.offset)
        return None if isinstance(row, tuple) else row

    # -- timing ---------------------------------------------------------------------------
    def _arrival_times(self, epoch: float) -> Iterator[float]:
        timing, start = self.config.timing, self.config.start
        if isinstance(timing, RateTiming):
            rng = numpy_stream(self.seed, "replay", self.config.path, "arrivals")
            return poisson_arrivals(timing.rate, start, math.inf, rng)
        if isinstance(timing, EveryTiming):
            every = timing.every
            return (start + k * every for k in range(1 << 62))
        return iter(())

    def _original_time(self, rows: list[ReplayRow], epoch: float) -> float | None:
        at = rows[0].at
        assert at is not None  # original timing requires a timestamp on every row
        t = self.config.start + (at - epoch) / self.config.speedup
        return None if t < 0 else t

    # -- tickets --------------------------------------------------------------------------
    def _follow_up_delays(self, rows: list[ReplayRow]) -> list[float]:
        first = rows[0].at
        if first is not None and all(r.at is not None for r in rows):
            return [max(0.0, (r.at - first) / self.config.speedup)  # type: ignore[operator]
                    for r in rows]
        draw = self._follow_up_sampler()
        delays, total = [0.0], 0.0
        for _ in rows[1:]:
            total += draw()
            delays.append(total)
        return delays

    def _follow_up_sampler(self) -> BufferedSampler:
        if self._sampler is None:
            self._sampler = BufferedSampler(self.config.follow_up_delay,
                                            numpy_stream(self.seed, "replay", self.config.path,
                                                         "follow-up"))
        return self._sampler

    def _customer(self, row: ReplayRow, ticket_id: str) -> Customer:
        if row.customer is None:
            return self.customers.from_base(ticket_id)
        return self.customers.named(row.customer, row.customer_name, row.customer_email,
                                    row.tier, row.account_value)

    def _ticket(self, n: int, rows: list[ReplayRow], at: float) -> Ticket:
        ticket_id = f"{self.id_prefix}{n:06d}"
        first = rows[0]
        customer = self._customer(first, ticket_id)
        routes = _inherited_routes([r.routes for r in rows])
        delays = self._follow_up_delays(rows)
        # A follow-up that changes the route (a mind change) is judged in context, as a
        # synthetic one is: the model gets it right only with the earlier messages.
        messages = [Message(r.text, own, delay=d, needs_context=k > 0 and own != routes[k - 1])
                    for k, (r, own, d) in enumerate(zip(rows, routes, delays, strict=True))]
        tags: list[str] = list(dict.fromkeys(t for r in rows for t in r.tags))
        escalate = (any(bool(r.escalate) for r in rows) if "escalate" in self.mapper.fields
                    else customer.account_value >= self.threshold)
        if customer.account_value >= self.threshold and "high_value" not in tags:
            tags.append("high_value")
        if len(routes[-1]) > 1 and "multi_issue" not in tags:
            tags.append("multi_issue")
        if len({tuple(r) for r in routes}) > 1 and "mind_change" not in tags:
            tags.append("mind_change")
        past = next((r.past_routes for r in reversed(rows) if r.past_routes), None)
        if past is None and "past_route" in self.mapper.fields:
            past = []
        past_escalate = None
        if "past_escalate" in self.mapper.fields:
            flags = [r.past_escalate for r in rows if r.past_escalate is not None]
            past_escalate = any(flags) if flags else None
        conversation = first.conversation or f"conv-{ticket_id}"
        return Ticket(ticket_id, conversation, at, first.channel, first.language, customer,
                      first.subject, messages, tags, escalate,
                      origin=f"{self.origin_name}:{first.line}" if self.reader.unit == "line"
                      else f"{self.origin_name} {self.reader.where(first.line)}",
                      past_routes=past, past_escalate=past_escalate)


def _inherited_routes(own: list[list[str]]) -> list[list[str]]:
    """A follow-up without a label keeps the conversation's latest one (the first rows
    without one take the first label that comes)."""
    out: list[list[str]] = []
    latest: list[str] = next((r for r in own if r), [])
    for routes in own:
        if routes:
            latest = routes
        out.append(list(latest))
    return out


def derive_replay_seed(run_seed: int, index: int) -> int:
    return derive_seed(run_seed, "traffic", index, "replay")

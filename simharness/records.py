"""Per-ticket records: the single source every metric is computed from."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass, field, fields
from typing import Any

from .traffic.ticket import Ticket

#: Statuses a ticket can end in.
STATUSES = ("ok", "error", "timeout", "hung", "invalid_output")

#: `ctx.log` lines kept per ticket; later ones are counted, not kept.
MAX_LOG_LINES = 200
#: Characters kept of one `ctx.log` line.
MAX_LOG_LINE_CHARS = 1000
#: Characters kept of a ticket's error text (an exception's message can be megabytes).
MAX_ERROR_CHARS = 2000


def cut_text(text: str, limit: int) -> str:
    """`text` up to `limit` characters, saying how many were cut."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}… ({len(text) - limit:,} more characters cut)"


class AuditTrail(list[str]):
    """A ticket's log lines: the agent's `ctx.log` lines, capped per ticket, and the
    harness's own notes (never capped: a few per event).

    An agent logging in a loop must not turn records.jsonl and the report into gigabytes:
    after MAX_LOG_LINES agent lines, one last line counts how many more were cut.
    """

    __slots__ = ("_agent_lines", "_cut", "_note")

    def __init__(self, lines: Any = ()) -> None:
        super().__init__(lines)
        self._agent_lines = 0
        self._cut = 0
        self._note = -1

    def add(self, line: str) -> None:
        """An agent's line: kept (cut to MAX_LOG_LINE_CHARS) while under the cap."""
        if self._agent_lines < MAX_LOG_LINES:
            self._agent_lines += 1
            self.append(cut_text(line, MAX_LOG_LINE_CHARS))
            return
        self._cut += 1
        note = (f"[ctx.log: {self._cut:,} more line{'s' if self._cut > 1 else ''} cut; "
                f"{MAX_LOG_LINES} are kept per ticket]")
        if self._note < 0:
            self._note = len(self)
            self.append(note)
        else:
            self[self._note] = note


@dataclass(slots=True)
class TicketRecord:
    """What happened to one ticket (conversation). Times are simulated seconds."""

    ticket_id: str
    conversation_id: str
    arrived_at: float
    started_at: float | None = None
    finished_at: float | None = None
    status: str = "timeout"
    true_route: list[str] = field(default_factory=list)
    pred_route: list[str] = field(default_factory=list)
    true_escalate: bool = False
    pred_escalate: bool = False
    confidence: float | None = None
    tags: list[str] = field(default_factory=list)
    cost_usd: float = 0.0
    tokens_in: int = 0
    tokens_out: int = 0
    calls: int = 0
    retries: int = 0
    error: str | None = None
    faults: list[str] = field(default_factory=list)
    events: int = 0
    wait_s: float = 0.0
    service_s: float = 0.0
    reason: str = ""
    actions: list[str] = field(default_factory=list)
    log: list[str] = field(default_factory=AuditTrail)
    #: Findings about the agent's HTTP client (`kind: detail`, see world/client_audit.py).
    client: list[str] = field(default_factory=list)
    #: Where a replayed ticket came from ("tickets.csv:17"); empty for synthetic ones.
    origin: str = ""
    #: What production decided back then, for replayed tickets with past_route/past_escalate.
    past_route: list[str] | None = None
    past_escalate: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        """Every field, lists copied (what `dataclasses.asdict` gives, many times faster:
        saving a big run calls this once per ticket)."""
        return {name: list(value) if isinstance(value, list) else value
                for name in _FIELD_NAMES for value in (getattr(self, name),)}


_FIELD_NAMES = tuple(f.name for f in fields(TicketRecord))


class EventScope:
    """The ticket event a piece of agent code is handling; calls are billed to it."""

    __slots__ = ("ticket", "record", "event", "llm_calls", "finished", "deadline",
                 "exchanges", "_seen")

    def __init__(self, ticket: Ticket, record: TicketRecord, event: int,
                 deadline: float = float("inf")) -> None:
        self.ticket = ticket
        self.record = record
        self.event = event
        self.llm_calls = 0
        self.finished = False
        #: Simulated time by which this event had to be answered.
        self.deadline = deadline
        #: Every HTTP exchange of the event, graded by world/client_audit.py at its end.
        self.exchanges: list[Any] = []
        self._seen: set[tuple[str, str, bytes]] = set()

    def count_call(self, method: str, url: str, body: bytes) -> None:
        """Count a call; a repeat of an identical request within the event is a retry."""
        self.record.calls += 1
        key = (method, url, body)
        if key in self._seen:
            self.record.retries += 1
        else:
            self._seen.add(key)

    def touched_by(self, fault: str) -> None:
        if fault not in self.record.faults:
            self.record.faults.append(fault)


#: Follows greenlets and asyncio tasks, so the world knows whose call it is serving.
current_scope: ContextVar[EventScope | None] = ContextVar("simharness_scope", default=None)

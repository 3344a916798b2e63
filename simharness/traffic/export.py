"""Write the traffic a scenario would send as a file a replay can read back.

One row per message (a conversation's follow-ups are rows of their own, sharing its
`conversation_id`), in time order, with the truth columns. The file is what a team
hand-labels, inspects, or replays: `EXPORT_MAPPING` is the `columns:` mapping that reads
it back, so `traffic export` then `replay` gives the same tickets at the same times.
"""

from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from .sources import build_traffic
from .ticket import Ticket

#: Columns of an exported file, in order.
EXPORT_COLUMNS = ("id", "conversation_id", "created_at", "channel", "language",
                  "customer_id", "customer_name", "customer_email", "tier", "account_value",
                  "subject", "text", "route", "escalate", "tags")
#: The replay `columns:` mapping that reads an export back.
EXPORT_MAPPING = {"text": "text", "subject": "subject", "customer": "customer_id",
                  "customer_name": "customer_name", "customer_email": "customer_email",
                  "tier": "tier", "account_value": "account_value", "channel": "channel",
                  "language": "language", "conversation_id": "conversation_id",
                  "timestamp": "created_at", "route": "route", "escalate": "escalate",
                  "tags": "tags"}
#: How a CSV export joins several routes (multi-issue) and several tags in one cell.
ROUTE_DELIMITER, TAGS_DELIMITER = "|", ","


def message_rows(tickets: Iterator[Ticket], epoch: datetime) -> Iterator[dict[str, Any]]:
    """One row per message, in time order (follow-ups wait in a heap until they are due)."""
    base, tz = epoch.timestamp(), epoch.tzinfo
    pending: list[tuple[float, int, dict[str, Any]]] = []
    seq = 0
    for ticket in tickets:
        while pending and pending[0][0] <= ticket.created_at:
            yield heapq.heappop(pending)[2]
        customer = ticket.customer
        for k, message in enumerate(ticket.messages):
            at = ticket.created_at + message.delay
            row = {
                "id": ticket.id if k == 0 else f"{ticket.id}-{k}",
                "conversation_id": ticket.conversation_id,
                "created_at": datetime.fromtimestamp(base + at, tz).isoformat(),
                "channel": ticket.channel, "language": ticket.language,
                "customer_id": customer.id, "customer_name": customer.name,
                "customer_email": customer.email, "tier": customer.tier,
                "account_value": customer.account_value, "subject": ticket.subject,
                "text": message.text, "route": list(message.routes),
                "escalate": ticket.escalate, "tags": list(ticket.tags),
            }
            seq += 1
            heapq.heappush(pending, (at, seq, row))
        while pending and pending[0][0] <= ticket.created_at:
            yield heapq.heappop(pending)[2]
    while pending:
        yield heapq.heappop(pending)[2]


def _merged(scenario: Any, seed: int) -> tuple[Iterator[Ticket], datetime]:
    traffic = build_traffic(scenario, seed)
    streams = [source.tickets() for source in traffic.sources]
    merged = heapq.merge(*streams, key=lambda t: t.created_at)
    return merged, traffic.epoch


def export_traffic(scenario: Any, out: Path, *, seed: int | None = None,
                   fmt: str | None = None, limit: int | None = None) -> int:
    """Write the scenario's traffic to `out` (CSV or JSONL, from `fmt` or the suffix);
    returns the number of rows written."""
    fmt = fmt or ("jsonl" if out.suffix.lower() in (".jsonl", ".ndjson") else "csv")
    tickets, epoch = _merged(scenario, scenario.seed if seed is None else seed)
    written = 0
    with out.open("w", encoding="utf-8", newline="") as fh:
        write = _csv_writer(fh) if fmt == "csv" else _jsonl_writer(fh)
        for row in message_rows(tickets, epoch):
            if limit is not None and written >= limit:
                break
            write(row)
            written += 1
    return written


def _csv_writer(fh: IO[str]) -> Any:
    writer = csv.DictWriter(fh, fieldnames=EXPORT_COLUMNS)
    writer.writeheader()

    def write(row: dict[str, Any]) -> None:
        writer.writerow({**row, "route": ROUTE_DELIMITER.join(row["route"]),
                         "tags": TAGS_DELIMITER.join(row["tags"]),
                         "escalate": "true" if row["escalate"] else "false"})
    return write


def _jsonl_writer(fh: IO[str]) -> Any:
    def write(row: dict[str, Any]) -> None:
        fh.write(json.dumps(row, ensure_ascii=False) + "\n")
    return write


def replay_section(path: str, *, csv_format: bool = True) -> dict[str, Any]:
    """The `replay:` section that reads an export at `path` back at its original timing."""
    section: dict[str, Any] = {"path": path, "columns": dict(EXPORT_MAPPING)}
    if csv_format:
        section["route_delimiter"] = ROUTE_DELIMITER
    return section

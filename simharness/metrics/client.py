"""`client.*`: how the agent's HTTP client behaved over the run, from the findings the
client audit put on each record (see world/client_audit.py for what each kind means)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..records import TicketRecord
from ..world.client_audit import KINDS

#: Examples kept per finding kind in the results.
EXAMPLES = 3


def client_metrics(records: Sequence[TicketRecord]) -> dict[str, Any]:
    """Per kind, how many times it was found; tickets with any finding; a few examples."""
    counts = dict.fromkeys(KINDS, 0)
    examples: dict[str, list[dict[str, str]]] = {kind: [] for kind in KINDS}
    flagged = 0
    for record in records:
        if not record.client:
            continue
        flagged += 1
        for finding in record.client:
            kind, _, detail = finding.partition(": ")
            counts[kind] = counts.get(kind, 0) + 1
            shown = examples.setdefault(kind, [])
            if len(shown) < EXAMPLES:
                shown.append({"ticket": record.ticket_id, "detail": detail})
    return {**counts, "tickets_flagged": flagged,
            "examples": {kind: shown for kind, shown in examples.items() if shown}}

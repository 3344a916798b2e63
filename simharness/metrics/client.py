"""`client.*`: how the agent's HTTP client behaved over the run, from the findings the
client audit put on each record (see world/client_audit.py for what each kind means)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..columns import CLIENT_EXAMPLES, Columns
from ..world.client_audit import KINDS

#: Examples kept per finding kind in the results.
EXAMPLES = CLIENT_EXAMPLES


def client_metrics(cols: Columns) -> dict[str, Any]:
    """Per kind, how many times it was found; tickets with any finding; a few examples."""
    counts = dict.fromkeys(KINDS, 0)
    for kind in cols.client_examples:  # kinds outside KINDS, in order of first finding
        counts.setdefault(kind, 0)
    per_code = np.bincount(cols.client, minlength=len(cols.values))
    flagged = 0
    for code, tickets in enumerate(per_code.tolist()):
        kinds = cols.values[code]
        if not tickets or not kinds:
            continue
        flagged += tickets
        for kind in kinds:
            counts[kind] += tickets
    examples = {kind: [{"ticket": ticket, "detail": detail} for ticket, detail in shown]
                for kind, shown in cols.client_examples.items()}
    ordered = {kind: examples[kind] for kind in counts if kind in examples}
    return {**counts, "tickets_flagged": flagged, "examples": ordered}

"""What a run means, in sentences a support lead can act on, from its records and metrics.

The HTML report opens with these and the console summary prints them: which agent ran,
how many tickets failed and how (by error type), which safety nets the agent used, and
per fault: its window, what failed inside it, and whether and when the agent noticed.
The counts come from a `RunDigest` (digest.py), gathered while the records stream past.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..metrics.routing import REVIEW_ROUTE
from ..records import TicketRecord

if TYPE_CHECKING:
    from .digest import FaultFacts, RunDigest

#: The safety nets an agent reports in `Decision.actions`, in the words shown to people.
NET_NAMES = {"fallback": "keyword/rule fallback", "degraded": "degraded answer",
             "safe_default": "safe default (escalated when unsure)",
             "breaker_open": "circuit breaker open"}

_EVENT_PREFIX = re.compile(r"^event \d+: ")
_EXCEPTION = re.compile(r"^([A-Za-z_][\w.]*): ")
_STATUS_CODE = re.compile(r"\b([45]\d\d)\b")
_BREAKER = re.compile(r"circuit open|breaker", re.IGNORECASE)


def failure_kind(record: TicketRecord) -> str:
    """How a failed ticket failed: the exception's class for `error` (with the HTTP status
    for a status error), else its status (`timeout`, `hung`, `invalid_output`)."""
    if record.status != "error":
        return record.status
    text = _EVENT_PREFIX.sub("", record.error or "")
    match = _EXCEPTION.match(text)
    if not match:
        return "error"
    kind = match.group(1).rsplit(".", 1)[-1]
    if kind == "HTTPStatusError":
        code = _STATUS_CODE.search(text[match.end():])
        if code:
            kind += f" {code.group(1)}"
    return kind


def most_frequent_first(counts: Mapping[str, int]) -> dict[str, int]:
    """Counts by kind, most frequent first (ties by name)."""
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def failures_by_kind(records: Iterable[TicketRecord]) -> dict[str, int]:
    """Failed tickets per failure kind, most frequent first."""
    return most_frequent_first(Counter(failure_kind(r) for r in records if r.status != "ok"))


def nets_used(record: TicketRecord) -> list[str]:
    """The safety nets one ticket used: the agent's reported actions, a circuit breaker
    named in its reason, and a hand-off to a person (`human_review`)."""
    nets = [NET_NAMES.get(action, action) for action in dict.fromkeys(record.actions)]
    if "breaker_open" not in record.actions and _BREAKER.search(record.reason):
        nets.append(NET_NAMES["breaker_open"])
    if REVIEW_ROUTE in record.pred_route:
        nets.append("handed to human review")
    return nets


def safety_nets(records: Iterable[TicketRecord]) -> dict[str, int]:
    """Tickets on which each safety net was used (see `nets_used`)."""
    return most_frequent_first(Counter(net for r in records for net in nets_used(r)))


def how_noticed(record: TicketRecord) -> str:
    """What a ticket's decision shows of the agent noticing: its actions, else its reason."""
    return ", ".join(record.actions) or record.reason[:60]


def clock(seconds: float) -> str:
    """Simulated seconds as m:ss or h:mm:ss from the start of the run."""
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return (f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours
            else f"{rest // 60:02d}:{rest % 60:02d}")


def _span(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.1f} s" if seconds < 10 else f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _kinds(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{n:,} {kind}" for kind, n in counts.items())


def _number(value: Any) -> float | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value):
        return float(value)
    return None


def fault_sentence(name: str, row: Mapping[str, Any], facts: FaultFacts,
                   windows: Sequence[tuple[str, float, float]], duration: float) -> str:
    """One fault: when, what failed inside its window and how, whether the agent noticed."""
    spans = [(s, e) for n, s, e in windows if n == name]
    start = min((s for s, _ in spans), default=_number(row.get("start")) or 0.0)
    end_value = _number(row.get("end"))
    end = max((e for _, e in spans), default=end_value if end_value is not None else duration)
    failed = facts.failed
    ending = "to the end of the run" if end >= duration or end_value is None \
        else f"to {clock(end)}"
    total_failed = sum(failed.values())
    text = (f"Fault {name} ({clock(start)} {ending}): {facts.arrived:,} tickets arrived in "
            "its window, " + (f"{total_failed:,} of them failed ({_kinds(failed)})."
                              if total_failed else "none of them failed.")
            + f" It changed what the agent got (a call or a payload) on {facts.changed:,} "
            "tickets in all, counting those still being handled when it began.")
    detect = _number(row.get("time_to_detect"))
    if detect is not None:
        how = f" (first: {facts.first_noticed})" if facts.first_noticed is not None else ""
        text += f" The agent noticed {_span(detect)} after it began{how}."
    else:
        text += " The agent never showed it noticed (no fallback or open breaker reported)."
    recover = _number(row.get("time_to_recover"))
    if recover is not None:
        text += (" It was back to normal as soon as the fault ended." if recover == 0
                 else f" It was back to normal {_span(recover)} after the fault ended.")
    elif end_value is not None and end < duration:
        text += " It was not back to its pre-fault accuracy and latency by the end of the run."
    return text


def opening(agent: str, metrics: Mapping[str, Any], digest: RunDigest,
            windows: Sequence[tuple[str, float, float]], duration: float,
            slos: Sequence[Any] = ()) -> list[str]:
    """The report's first sentences: the agent and the headline, then one per fault."""
    tickets = metrics.get("tickets", {})
    total = int(tickets.get("total", digest.count) or 0)
    if not total:
        return [f"Agent {agent} received no tickets: this run measured nothing."]
    accuracy = _number(metrics.get("routing", {}).get("accuracy"))
    failed = digest.failures
    head = f"Agent {agent} handled {total:,} tickets"
    head += f": {accuracy:.1%} routed right" if accuracy is not None else ""
    head += (f", {sum(failed.values()):,} failed ({_kinds(failed)})." if failed
             else ", none failed.")
    lines = [head]
    failing = [s for s in slos if not s.passed]
    if slos:
        lines.append("All SLOs passed." if not failing else
                     f"{len(failing)} of {len(slos)} SLOs failed: "
                     + "; ".join(s.metric for s in failing) + ".")
    nets = digest.safety_nets
    if nets:
        lines.append("Safety nets used: " + ", ".join(f"{kind} on {n:,} tickets"
                                                      for kind, n in nets.items()) + ".")
    recovery = metrics.get("recovery") or {}
    for name, row in recovery.items():
        if isinstance(row, Mapping):
            lines.append(fault_sentence(str(name), row, digest.fault(str(name)), windows,
                                        duration))
    return lines

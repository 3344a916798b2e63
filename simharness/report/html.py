"""The run report: PNG figures and one self-contained `report.html`.

The page has no scripts and no external references (plots are base64 data URIs, CSS is
inline), so it can be attached to a CI run or mailed and still open anywhere. Every value
that reaches it is escaped: ticket text, agent errors and log lines are untrusted (prompt
injections, markup, control characters).

The page reads the run's records only through its digest (digest.py): the figures from a
few numbers per ticket, the tables from the few hundred records they list.
"""

from __future__ import annotations

import base64
import html
import math
import re
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure

from ..records import TicketRecord
from . import plots, story
from .console import warning_lines
from .digest import AUDIT_GROUPS, AUDIT_LIMIT, audit_counts, spread
from .store import SCENARIO, LoadedRun, snapshot

if TYPE_CHECKING:
    from ..result import Result

#: The figures, in page order: file name, heading, how to draw it.
FIGURES: tuple[tuple[str, str, Callable[[plots.RunLike], Figure]], ...] = (
    ("accuracy_over_time.png", "Routing accuracy over time", plots.accuracy_over_time),
    ("latency_over_time.png", "Latency over time", plots.latency_over_time),
    ("cumulative_cost.png", "Cumulative cost", plots.cumulative_cost),
    ("confusion.png", "Routing confusion matrix", plots.confusion_heatmap),
    ("recovery.png", "Recovery per fault", plots.recovery),
)
#: Longest text shown in one cell (a `huge_body` error can be megabytes).
MAX_TEXT = 2000
#: Metric sections in page order; any others follow.
SECTIONS = ("tickets", "routing", "escalation", "latency", "cost", "calls", "recovery",
            "faults")

#: What a section's numbers are, where its keys alone do not say.
SECTION_NOTES = {"faults": "per fault, the tickets whose calls or payload it actually "
                           "changed (not every ticket in its window)",
                 "latency": "queue wait + service, seconds of simulated time",
                 "recovery": "per fault: time to detect counts from its start, time to "
                             "recover from its end; amplifications compare a window ticket's "
                             "calls and cost with a pre-fault ticket's: ×1 the same, ×0.5 "
                             "half (failed calls often cost nothing), ×2 double"}

#: Characters shown as escapes: C0/C1 controls (not tab or newline), lone surrogates,
#: non-characters, and the invisible or bidi-reordering ones that can disguise text.
_UNSAFE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u200b-\u200f\u202a-\u202e"
                     "\u2066-\u2069\ufeff\ud800-\udfff\ufffe\uffff]")


# --------------------------------------------------------------------------- entry point

def write_report(source: Result | LoadedRun, out_dir: str | Path) -> Path:
    """Write the five PNGs and `report.html` into `out_dir`; returns the HTML's path.

    A live Result is snapshotted through the saved JSON form first, so the report written
    by `simharness run` and the one `simharness report` rebuilds are byte-identical.
    """
    run = source if isinstance(source, LoadedRun) else snapshot(source)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    images: dict[str, bytes] = {}
    for filename, _, draw in FIGURES:
        images[filename] = plots.to_png(draw(run))
        (out / filename).write_bytes(images[filename])
    path = out / "report.html"
    path.write_text(render_html(run, images), encoding="utf-8")
    return path


# --------------------------------------------------------------------------- text helpers

def esc(value: Any, limit: int = MAX_TEXT) -> str:
    """Untrusted text as safe HTML: control, invisible and bidi characters and lone
    surrogates made visible (`\\x07`, `\\u202e`), long text cut, markup escaped."""
    text = value if isinstance(value, str) else str(value)
    if len(text) > limit:
        text = f"{text[:limit]}… ({len(text) - limit:,} more characters)"
    text = _UNSAFE.sub(lambda m: f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100
                       else f"\\u{ord(m.group()):04x}", text)
    return html.escape(text, quote=True)


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(
        value)


def _number(value: float) -> str:
    if isinstance(value, int) or value.is_integer():
        return f"{int(value):,}"
    if abs(value) >= 100:
        return f"{value:,.1f}"
    if abs(value) >= 1:
        return f"{value:.3f}"
    return f"{value:.4g}"


def _usd(value: float) -> str:
    return f"${value:,.4f}" if abs(value) >= 1 else f"${value:.4g}"


def _seconds_unit(path: str) -> bool:
    return path.startswith("latency.") or path.split(".")[-1] in (
        "time_to_detect", "time_to_recover", "start", "end")


def fmt(value: Any, path: str = "") -> str:
    """A metric value for a table cell, with its unit; missing values say why."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        if path.split(".")[-1] in ("time_to_detect", "time_to_recover"):
            return "never"
        return "n/a"
    if _finite(value):
        if path.endswith("_usd"):
            return _usd(value)
        return _number(value) + (" s" if _seconds_unit(path) else "")
    return esc(value, 200)


def _clock(seconds: float) -> str:
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return (f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours
            else f"{rest // 60:02d}:{rest % 60:02d}")


def _table(header: Sequence[str], rows: Iterable[Sequence[str]], cls: str = "",
           ident: str = "") -> str:
    """A table from cells that are already HTML."""
    attrs = (f' class="{cls}"' if cls else "") + (f' id="{ident}"' if ident else "")
    head = "".join(f"<th>{esc(h)}</th>" for h in header)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table{attrs}>\n<thead><tr>{head}</tr></thead>\n<tbody>\n{body}\n</tbody>\n</table>"


# --------------------------------------------------------------------------- sections

def _header(run: LoadedRun) -> str:
    if not run.slos:
        verdict = '<span class="badge none">no SLOs</span>'
    elif run.passed:
        verdict = '<span class="badge pass">PASSED</span>'
    else:
        verdict = '<span class="badge fail">FAILED</span>'
    description = f'<p class="description">{esc(run.description)}</p>' if run.description else ""
    tickets = run.metrics.get("tickets", {}).get("total", run.digest.count)
    return (f"<header>\n<h1>simharness report: {esc(run.name)} {verdict}</h1>\n{description}\n"
            f'<p class="facts">scenario <b>{esc(run.name)}</b> · agent '
            f"<b>{esc(run.agent_label)}</b> · seed <b>{run.seed}</b> · "
            f"{fmt(tickets)} tickets · {esc(_clock(run.duration))} simulated</p>\n</header>")


def reproduce_command(run: LoadedRun) -> str:
    """The command that reruns a saved run from its own directory's scenario file."""
    command = f"simharness run {SCENARIO} --seed {run.seed}"
    ref = run.agent.get("ref")
    return command + (f" --agent {ref}" if ref else "")


def _summary_section(run: LoadedRun) -> str:
    """The opening: what happened in sentences, failures by kind, safety nets used."""
    lines = story.opening(run.agent_label, run.metrics, run.digest, run.fault_windows,
                          run.duration, run.slos)
    paragraphs = "\n".join(f"<p>{esc(line)}</p>" for line in lines)
    failed = run.digest.failures
    nets = run.digest.safety_nets
    tables = []
    if failed:
        tables.append("<div><h3>Failed tickets by kind</h3>\n" + _table(
            ("how it failed", "tickets"), ((esc(k), fmt(n)) for k, n in failed.items()),
            cls="metrics", ident="failures-by-kind") + "</div>")
    if nets:
        tables.append("<div><h3>Safety nets used</h3>\n" + _table(
            ("safety net", "tickets"), ((esc(k), fmt(n)) for k, n in nets.items()),
            cls="metrics", ident="safety-nets") + "</div>")
    grid = f'<div class="grid">\n{"".join(tables)}\n</div>' if tables else ""
    return (f'<section class="summary">\n<h2 id="summary">What happened</h2>\n{paragraphs}\n'
            f"{grid}\n</section>")


def _slo_section(run: LoadedRun) -> str:
    if not run.slos:
        body = "<p>This scenario sets no SLOs (no <code>expect:</code> section).</p>"
    else:
        rows = [(f"<code>{esc(s.metric)}</code>", fmt(s.value, s.metric), esc(s.bound),
                 '<span class="pass">PASS</span>' if s.passed
                 else '<span class="fail">FAIL</span>', esc(s.message))
                for s in run.slos]
        body = _table(("metric", "value", "bound", "verdict", "detail"), rows, ident="slos")
    hint = f'<p class="hint">Reproduce this run: <code>{esc(reproduce_command(run))}</code>'
    hint += (" (the scenario file saved next to this report).</p>" if run.agent.get("ref")
             else " (the scenario file saved next to this report; the agent was an object "
                  f"of {esc(run.agent.get('class') or 'unknown type')}, which cannot be "
                  "imported by name: pass it again in Python).</p>")
    return f'<section>\n<h2 id="slo">SLO verdicts</h2>\n{body}\n{hint}\n</section>'


def _flatten(node: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    out: list[tuple[str, Any]] = []
    for key, value in node.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict):
            out.extend(_flatten(value, path + "."))
        else:
            out.append((path, value))
    return out


def _metric_table(section: str, node: dict[str, Any], skip: Sequence[str] = ()) -> str:
    rows = [(f"<code>{esc(path)}</code>", fmt(value, f"{section}.{path}"))
            for path, value in _flatten({k: v for k, v in node.items() if k not in skip})]
    return _table(("metric", "value"), rows, cls="metrics") if rows else ""


Cell = Callable[[dict[str, Any], str], str]


def _keyed_table(first: str, rows: dict[str, Any], order: Sequence[str], section: str,
                 ident: str, cell: Cell | None = None) -> str:
    """One row per key of `rows` (a route, a fault), one column per field; `cell` formats
    a (row, column) pair when plain `fmt` cannot."""
    entries = {str(k): v for k, v in rows.items() if isinstance(v, dict)}
    columns = [c for c in order if any(c in v for v in entries.values())]
    columns += sorted({c for v in entries.values() for c in v} - set(columns))
    format_cell = cell or (lambda values, c: fmt(values.get(c), f"{section}.{c}"))
    body = [(esc(name), *(format_cell(values, c) for c in columns))
            for name, values in entries.items()]
    return _table((first, *columns), body, cls="metrics", ident=ident)


def _recovery_cell(duration: float) -> Cell:
    """Recovery times read "never" or "n/a" by the same rule as the recovery plot."""
    def cell(row: dict[str, Any], column: str) -> str:
        if column in ("time_to_detect", "time_to_recover"):
            value = plots.recovery_time(row, column, duration)
            return fmt(value, f"recovery.{column}") if isinstance(value, float) else value
        if column == "end" and row.get(column) is None:
            return "never ends"
        if column in ("retry_amplification", "cost_amplification"):
            return _amplification(row.get(column), column)
        return fmt(row.get(column), f"recovery.{column}")
    return cell


def _amplification(value: Any, column: str) -> str:
    """×1.80 (80 % more) / ×0.40 (60 % less): a ratio nobody can read backwards (the
    section note says what it compares)."""
    if not _finite(value):
        return "n/a"
    if abs(value - 1) < 0.005:
        return f"×{value:.2f} (the same)"
    word = "more" if value > 1 else "less"
    return f"×{value:.2f} ({abs(value - 1):.0%} {word})"


def _metrics_section(run: LoadedRun) -> str:
    """Small sections side by side in a grid; wide tables (per route, recovery) below it."""
    metrics = run.metrics
    cards, wide = [], []
    names = [s for s in SECTIONS if s in metrics] + [s for s in metrics if s not in SECTIONS]
    for name in names:
        node = metrics[name]
        if name == "client":
            continue  # its own section
        title = esc(name) + (f' <small class="muted">{esc(SECTION_NOTES[name])}</small>'
                             if name in SECTION_NOTES else "")
        heading = f'<h3 id="metrics-{esc(name)}">{title}</h3>'
        if not isinstance(node, dict):
            cards.append(f"<div>{heading}\n<p>{fmt(node, name)}</p></div>")
        elif name == "recovery":
            body = (_keyed_table("fault", node, ("start", "end", "time_to_detect",
                                                 "time_to_recover", "tickets", "failed",
                                                 "unhandled", "retry_amplification",
                                                 "cost_amplification"), name, "recovery",
                                 _recovery_cell(run.duration))
                    if node else "<p>No fault windows in this run.</p>")
            wide.append(f"{heading}\n{body}")
        else:
            skip = ("confusion", "per_route", "by_route") if name == "routing" else ()
            body = _metric_table(name, node, skip) or "<p>none</p>"
            cards.append(f"<div>{heading}\n{body}</div>")
            per_route = node.get("per_route") if name == "routing" else None
            if isinstance(per_route, dict) and per_route:
                by_route = node.get("by_route") or {}
                rows = {route: {"accuracy": by_route.get(route), **values}
                        if isinstance(values, dict) else values
                        for route, values in per_route.items()}
                wide.append('<h3 id="metrics-per-route">routing per route</h3>\n' + _keyed_table(
                    "route", rows, ("accuracy", "precision", "recall", "f1", "support"), name,
                    "per-route"))
    return ('<section>\n<h2 id="metrics">Metrics</h2>\n<div class="grid">\n'
            + "\n".join(cards) + "\n</div>\n" + "\n".join(wide) + "\n</section>")


#: What each client-audit finding means, in a line (see world/client_audit.py).
CLIENT_FINDINGS = {
    "retry_after_ignored": "retried before the server's Retry-After had elapsed",
    "retried_non_retryable": "retried a 400/401/403/404/422, which cannot succeed unchanged",
    "retry_storm": "more attempts of one request than agent.retry_storm_attempts",
    "no_backoff": "retried at once, or at a constant interval the server did not ask for",
    "gave_up": "left a ticket unanswered after one retryable failure, with time to retry",
    "no_timeout": "sent a request with no timeout, or one longer than the ticket deadline",
    "truncated_stream_accepted": "answered from a stream that never finished",
}


def _client_section(run: LoadedRun) -> str:
    """The verdict on the agent's HTTP client, one row per kind of finding."""
    node = run.metrics.get("client")
    if not isinstance(node, dict):
        return ""
    examples = node.get("examples") or {}
    rows = []
    for kind, meaning in CLIENT_FINDINGS.items():
        count = node.get(kind, 0)
        shown = examples.get(kind) or []
        example = "<br>".join(f"<code>{esc(e['ticket'])}</code> {esc(e['detail'])}"
                              for e in shown)
        verdict = '<span class="ok">ok</span>' if not count else '<span class="fail">' \
            f"{count:,}</span>"
        rows.append((f"<code>{esc(kind)}</code>", esc(meaning), verdict, example))
    flagged = node.get("tickets_flagged", 0)
    summary = ("<p>No finding: the agent's client retried, backed off and timed out like a "
               "well-behaved one on every exchange.</p>" if not flagged else
               f"<p>{flagged:,} tickets with findings (each is also in that ticket's audit "
               "log).</p>")
    table = _table(("finding", "what it means", "count", "examples"), rows, ident="client")
    return ('<section>\n<h2 id="client">Client behaviour</h2>\n'
            f"{summary}\n{table}\n</section>")


def _plots_section(images: dict[str, bytes]) -> str:
    figures = []
    for filename, title, _ in FIGURES:
        data = base64.b64encode(images[filename]).decode("ascii")
        figures.append(f'<figure>\n<img src="data:image/png;base64,{data}" alt="{esc(title)}">'
                       f"\n<figcaption>{esc(title)} ({esc(filename)})</figcaption>\n</figure>")
    return '<section>\n<h2 id="plots">Plots</h2>\n' + "\n".join(figures) + "\n</section>"


def _spread(items: list[TicketRecord], count: int) -> list[TicketRecord]:
    """`count` items evenly spaced over the list (first and last included)."""
    return [items[i] for i in spread(len(items), count)]


def audit_groups(records: Sequence[TicketRecord], windows: Sequence[tuple[str, float, float]],
                 limit: int = AUDIT_LIMIT) -> list[tuple[str, list[TicketRecord], int]]:
    """Failed and misrouted tickets for the audit trail, at most `limit` in all, in
    AUDIT_GROUPS order: the failures of the fault windows first (from a list of records;
    the report streams them through `RunDigest.audit`, which chooses the same).

    While later groups have tickets, a group takes at most half of the room the groups
    before it left (a smaller group leaves the rest to the next), sampled evenly over the
    run, so a long outage shows its onset, its middle and its end. Returns
    (group name, chosen tickets in arrival order, group total) for every non-empty group.
    """
    spans = [(s, e) for _, s, e in windows]

    def in_fault(r: TicketRecord) -> bool:
        return any(s <= r.arrived_at < e for s, e in spans)

    order = sorted(records, key=lambda r: (r.arrived_at, r.ticket_id))
    failed = [r for r in order if r.status != "ok"]
    misrouted = [r for r in order
                 if r.status == "ok" and set(r.pred_route) != set(r.true_route)]
    groups = [[r for r in failed if in_fault(r)], [r for r in failed if not in_fault(r)],
              [r for r in misrouted if in_fault(r)], [r for r in misrouted if not in_fault(r)]]
    counts = audit_counts([len(group) for group in groups], limit)
    return [(name, _spread(group, count), len(group))
            for name, group, count in zip(AUDIT_GROUPS, groups, counts, strict=True) if group]


def audit_selection(records: Sequence[TicketRecord], limit: int = AUDIT_LIMIT,
                    windows: Sequence[tuple[str, float, float]] = ()
                    ) -> tuple[list[TicketRecord], int, int]:
    """The audit trail's tickets in page order (see `audit_groups`), with the totals of
    failed and misrouted tickets."""
    groups = audit_groups(records, windows, limit)
    chosen = [r for _, take, _ in groups for r in take]
    failed = sum(total for name, _, total in groups if name.startswith("failed"))
    misrouted = sum(total for name, _, total in groups if name.startswith("misrouted"))
    return chosen, failed, misrouted


def _routes(routes: Sequence[str]) -> str:
    return esc(", ".join(routes)) if routes else '<span class="muted">none</span>'


def _audit_row(r: TicketRecord) -> tuple[str, ...]:
    log = ("<pre>" + "\n".join(esc(line) for line in r.log) + "</pre>") if r.log else ""
    status = f'<span class="{"ok" if r.status == "ok" else "fail"}">{esc(r.status)}</span>'
    predicted = _routes(r.pred_route)
    if set(r.pred_route) != set(r.true_route) and r.pred_route:
        predicted = f'<span class="fail">{predicted}</span>'
    origin = f"<br><small>{esc(r.origin)}</small>" if r.origin else ""
    return (f"<code>{esc(r.ticket_id)}</code>{origin}",
            f"{r.arrived_at:,.1f} s<br><small>{_clock(r.arrived_at)}</small>", status,
            _routes(r.true_route), predicted, esc(r.error or ""),
            esc(r.reason), esc(", ".join(r.faults)), log)


def _audit_section(run: LoadedRun) -> str:
    groups = run.digest.audit
    failed = sum(total for name, _, total in groups if name.startswith("failed"))
    misrouted = sum(total for name, _, total in groups if name.startswith("misrouted"))
    shown = sum(len(take) for _, take, _ in groups)
    total = failed + misrouted
    if not total:
        body = "<p>Every ticket was handled and routed right.</p>"
    else:
        left = total - shown
        note = (f"<p>{failed:,} failed and {misrouted:,} misrouted tickets"
                + (f"; {shown:,} shown, {left:,} left out (the failures of the fault windows "
                   "come first; each group is sampled evenly over the run)" if left
                   else ", all shown")
                + ". Every ticket is in <code>records.jsonl</code>.</p>")
        parts = [note]
        for name, take, count in groups:
            heading = f"{name[:1].upper()}{name[1:]}: {len(take):,} of {count:,} shown"
            parts.append(f"<h3>{esc(heading)}</h3>\n" + _table(
                ("ticket", "arrived", "status", "true route", "predicted", "error", "reason",
                 "faults", "agent log (ctx.log)"), (_audit_row(r) for r in take), cls="audit",
                ident="audit-" + name.replace(" ", "-")))
        body = "\n".join(parts)
    return (f'<section>\n<h2 id="audit">Audit trail</h2>\n{body}\n{_shadow_table(run)}'
            "\n</section>")


def _shadow_table(run: LoadedRun) -> str:
    """Tickets where the agent and production (a replay's past_route) disagree."""
    digest = run.digest
    if not digest.has_production:
        return ""
    if not digest.disagreements:
        return ('<h3 id="shadow">Disagreements with production</h3>\n'
                "<p>The agent routed every ticket as production did.</p>")
    chosen = digest.shadow
    rows = [(f"<code>{esc(r.ticket_id)}</code><br><small>{esc(r.origin)}</small>",
             _routes(r.true_route), _routes(r.pred_route), _routes(r.past_route or []),
             esc(r.reason)) for r in chosen]
    note = (f"<p>{digest.disagreements:,} tickets routed differently from production"
            + (f"; {len(chosen):,} shown, evenly over the run"
               if len(chosen) < digest.disagreements else "") + ".</p>")
    return ('<h3 id="shadow">Disagreements with production</h3>\n' + note + "\n"
            + _table(("ticket", "true route", "agent", "production", "agent's reason"), rows,
                     cls="audit", ident="shadow-disagreements"))


def _traffic_section(run: LoadedRun) -> str:
    """What each replayed file gave: rows, tickets sent, and the unreadable rows by line."""
    replays = run.diagnostics.get("replay") or []
    if not replays:
        return ""
    parts = []
    for stats in replays:
        counts = [(esc(k.replace("_", " ")), fmt(stats.get(k)))
                  for k in ("rows", "unreadable", "filtered", "tickets", "sent", "before_start",
                            "after_end", "first_timestamp", "last_timestamp", "in_time_order")
                  if stats.get(k) is not None]
        parts.append(f"<h3>replay <code>{esc(stats.get('path'))}</code></h3>\n"
                     + _table(("what", "value"), counts, cls="metrics"))
        listed = stats.get("first_unreadable") or []
        if listed:
            total = stats.get("unreadable", len(listed))
            parts.append(f"<p>{fmt(total)} unreadable rows were skipped; the first "
                         f"{len(listed)}:</p>\n" + _table(
                             ("where", "reason"),
                             ((esc(i.get("where")), esc(i.get("reason"))) for i in listed),
                             cls="audit"))
    return ('<section>\n<h2 id="traffic">Replayed traffic</h2>\n' + "\n".join(parts)
            + "\n</section>")


def _scenario_section(run: LoadedRun) -> str:
    text = (f"<pre>{esc(run.scenario_yaml, 200_000)}</pre>" if run.scenario_yaml
            else "<p>The scenario was not saved with this run.</p>")
    return f'<section>\n<h2 id="scenario">Scenario</h2>\n{text}\n</section>'


def _run_section(run: LoadedRun) -> str:
    info = run.run_info
    rows = [("wall time", fmt(info.get("wall_seconds")) + " s"),
            ("tickets per wall second", fmt(info.get("tickets_per_second"))),
            ("simulated seconds (with drain)", fmt(run.diagnostics.get("simulated_seconds")))]
    rows += [(esc(k), esc(v)) for k, v in (info.get("versions") or {}).items()]
    rows.append(("agent", esc(run.agent_label)))
    rows += [("warning", esc(line.strip())) for line in warning_lines(run.diagnostics)]
    for name, stats in (run.diagnostics.get("tools") or {}).items():
        unmatched = ", ".join(f"{esc(k)} ({fmt(v)}×)"
                              for k, v in (stats.get("unmatched_requests") or {}).items())
        rows.append((f"tool {esc(name)}", f"{fmt(stats.get('calls'))} calls, "
                     f"{fmt(stats.get('unmatched'))} matched no route"
                     + (f": {unmatched}" if unmatched else "")))
    return ('<section>\n<h2 id="run">Run</h2>\n'
            + _table(("what", "value"), rows, cls="metrics", ident="run-info") + "\n</section>")


# --------------------------------------------------------------------------- page

CSS = """
body { font: 15px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1d1d1f; max-width: 1180px; margin: 0 auto; padding: 24px; }
h1 { font-size: 26px; margin: 0 0 6px; } h2 { border-bottom: 2px solid #e3e3e3;
     padding-bottom: 4px; margin-top: 36px; } h3 { margin: 22px 0 6px; }
.badge { font-size: 15px; padding: 3px 10px; border-radius: 12px; vertical-align: middle; }
.badge.pass { background: #2e7d32; color: #fff; } .badge.fail { background: #c62828; color: #fff; }
.badge.none { background: #777; color: #fff; }
span.pass, span.ok { color: #2e7d32; font-weight: 600; }
span.fail { color: #c62828; font-weight: 600; }
.facts, .description, .hint, .muted, figcaption { color: #555; }
nav a { margin-right: 14px; }
table { border-collapse: collapse; margin: 8px 0 12px; font-size: 14px; }
th, td { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f4f4f6; } table.metrics td:nth-child(n+2) { text-align: right; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(330px, 1fr));
        gap: 0 28px; } .grid table.metrics { width: 100%; }
table.metrics td:nth-child(n+2), table#slos td:nth-child(2), table#slos td:nth-child(3) {
        white-space: nowrap; }
table.audit { font-size: 12.5px; width: 100%; }
table.audit td { max-width: 360px; overflow-wrap: break-word; }
table.audit td:nth-child(-n+3) { white-space: nowrap; }
table.audit pre { margin: 0; font-size: 12px; white-space: pre-wrap; }
pre { background: #f7f7f9; border: 1px solid #e3e3e3; padding: 10px; overflow-x: auto;
      white-space: pre-wrap; overflow-wrap: anywhere; }
figure { margin: 16px 0 28px; } figure img { max-width: 100%; height: auto;
     border: 1px solid #eee; }
code { font-family: ui-monospace, "SFMono-Regular", Menlo, Consolas, monospace; }
"""


def render_html(run: LoadedRun, images: dict[str, bytes]) -> str:
    """The whole page as one string (deterministic: no timestamps, no paths)."""
    nav = ('<nav><a href="#summary">Summary</a><a href="#slo">SLOs</a><a href="#metrics">'
           'Metrics</a><a href="#client">Client</a><a href="#plots">Plots</a>'
           '<a href="#audit">Audit trail</a>'
           + ('<a href="#traffic">Replayed traffic</a>' if run.diagnostics.get("replay")
              else "") + '<a href="#scenario">Scenario</a><a href="#run">Run</a></nav>')
    parts = (_header(run), nav, _summary_section(run), _slo_section(run),
             _metrics_section(run), _client_section(run), _plots_section(images),
             _audit_section(run), _traffic_section(run), _scenario_section(run),
             _run_section(run))
    body = "\n".join(part for part in parts if part)
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
            f"<title>simharness report: {esc(run.name)} (seed {run.seed})</title>\n"
            f"<style>{CSS}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")

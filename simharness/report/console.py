"""Terminal output: progress in simulated time and the summary table.

On a terminal, progress is a rich bar; off one (a CI log, a pipe) it is a plain line every
`PLAIN_PROGRESS_SECONDS` wall seconds, so a long job is never silent and its log never
fills with bar redraws.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ..units import format_duration
from ..vclock import wall_clock
from . import story

if TYPE_CHECKING:
    from ..engine import ProgressCallback
    from ..result import Result

#: Wall seconds between plain progress lines off a terminal.
PLAIN_PROGRESS_SECONDS = 10.0
#: Items of one kind of warning listed before "... and N more".
WARNINGS_LISTED = 5


def _describe(now: float, end: float, finished: int) -> str:
    return (f"{format_duration(now)} / {format_duration(end)} simulated, "
            f"{finished:,} tickets done")


def plain_progress(every: float | None = None, stream: Any = None) -> ProgressCallback:
    """A progress callback printing one plain line at most every `every` wall seconds
    (default PLAIN_PROGRESS_SECONDS)."""
    every = PLAIN_PROGRESS_SECONDS if every is None else every
    started = wall_clock()
    last = [started]

    def update(now: float, end: float, finished: int) -> None:
        moment = wall_clock()
        if moment - last[0] < every:
            return
        last[0] = moment
        share = min(now / end, 1.0) if end else 1.0
        print(f"progress: {share:4.0%} {_describe(now, end, finished)} "
              f"({moment - started:.0f} s elapsed)", file=stream or sys.stdout, flush=True)

    return update


@contextlib.contextmanager
def progress_bar(console: Console, enabled: bool = True) -> Iterator[ProgressCallback | None]:
    """Yield a progress callback: a rich bar on a terminal, plain lines off one."""
    if not enabled:
        yield None
        return
    if not console.is_terminal:
        yield plain_progress(stream=console.file)
        return
    columns = (TextColumn("simulating"), BarColumn(), TextColumn("{task.description}"),
               TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True, get_time=wall_clock) as bar:
        task = bar.add_task("", total=1.0)

        def update(now: float, end: float, finished: int) -> None:
            bar.update(task, completed=min(now / end, 1.0) if end else 1.0,
                       description=_describe(now, end, finished))

        yield update


def _fmt(value: Any, spec: str) -> str:
    if value is None or (isinstance(value, float) and value != value):
        return "n/a"
    return format(value, spec)


def _listed(lines: list[str]) -> list[str]:
    if len(lines) <= WARNINGS_LISTED:
        return lines
    return [*lines[:WARNINGS_LISTED], f"... and {len(lines) - WARNINGS_LISTED:,} more"]


def warning_lines(diagnostics: dict[str, Any]) -> list[str]:
    """Every run warning as one line, each kind listed up to WARNINGS_LISTED."""
    out: list[str] = []
    unknown = diagnostics.get("unknown_labels") or {}
    if unknown.get("tickets"):
        distinct = unknown.get("distinct", 0)
        more = "+" if unknown.get("distinct_capped") else ""
        out.append(f"{unknown['tickets']:,} ticket(s) got labels that are not routes "
                   f"({distinct:,}{more} distinct; counted as wrong, shown as <other>):")
        examples = [f"  {label[:80]!r} ({count:,}x)"
                    for label, count in (unknown.get("examples") or {}).items()]
        if distinct > len(examples):
            examples.append(f"  ... and {distinct - len(examples):,}{more} more")
        out += examples
    out += _listed([f"{count:,} call(s) to real host {host!r} were blocked"
                    for host, count in (diagnostics.get("blocked_hosts") or {}).items()])
    out += _listed([f"{text} ({count:,}x)"
                    for text, count in (diagnostics.get("warnings") or {}).items()])
    return out


def print_summary(result: Result, console: Console) -> None:
    m = result.metrics
    t = m["tickets"]
    table = Table(title=f"{result.scenario.name} (seed {result.seed})", show_header=True)
    table.add_column("metric")
    table.add_column("value", justify="right")
    rows = [
        ("agent", result.agent.label),
        ("tickets", f"{t['total']}"),
        ("ok / error / timeout / hung / invalid",
         f"{t['ok']} / {t['error']} / {t['timeout']} / {t['hung']} / {t['invalid_output']}"),
        ("routing accuracy", _fmt(m["routing"]["accuracy"], ".3f")),
        ("escalation recall (missed)",
         f"{_fmt(m['escalation']['recall'], '.3f')} ({m['escalation']['missed']})"),
        ("latency p50 / p95 (s)",
         f"{_fmt(m['latency']['p50'], '.2f')} / {_fmt(m['latency']['p95'], '.2f')}"),
        ("mean queue wait (s)", _fmt(m["latency"]["mean_wait"], ".3f")),
        ("cost total / per ticket (USD)",
         f"{_fmt(m['cost']['total_usd'], '.4f')} / {_fmt(m['cost']['per_ticket_usd'], '.6f')}"),
        ("calls per ticket (retries)",
         f"{_fmt(m['calls']['per_ticket'], '.2f')} ({m['calls']['retries']})"),
        ("wall time (s)", f"{result.run_info['wall_seconds']:.2f}"),
    ]
    digest = result.digest  # counts streamed from the records, never a list of them
    for kind, count in digest.failures.items():
        rows.append((f"failed: {kind}", f"{count:,}"))
    for name, count in m["faults"].items():
        rows.append((f"tickets fault {name} changed", str(count)))
    shadow = m.get("shadow")
    if shadow:
        rows.append(("agreement with production (disagreements)",
                     f"{_fmt(shadow['agreement'], '.3f')} ({shadow['disagreements']})"))
        rows.append(("accuracy: agent / production",
                     f"{_fmt(shadow['agent_accuracy'], '.3f')} / "
                     f"{_fmt(shadow['production_accuracy'], '.3f')}"))
    for name, value in rows:
        table.add_row(escape(name), escape(value))
    console.print(table)
    for line in story.opening(result.agent.label, m, digest, result.fault_windows,
                              result.scenario.duration)[1:]:
        console.print(escape(line), highlight=False, soft_wrap=True)
    for slo in result.slos:
        style = "green" if slo.passed else "bold red"
        console.print(f"[{style}]{'PASS' if slo.passed else 'FAIL'}[/] {escape(slo.message)}",
                      highlight=False, soft_wrap=True)
    for line in replay_lines(result.diagnostics.get("replay") or []):
        console.print(line, highlight=False, soft_wrap=True)
    if t["total"] and not m["routing"].get("labelled", t["total"]):
        console.print("[yellow]note[/]: no ticket has a known route (no route column): "
                      "routing accuracy is not measured", highlight=False, soft_wrap=True)
    for name, stats in (result.diagnostics.get("tools") or {}).items():
        if stats.get("unmatched"):
            examples = ", ".join(f"{escape(k)} ({v}x)" for k, v in
                                 list(stats.get("unmatched_requests", {}).items())[:3])
            console.print(f"[yellow]warning[/]: {stats['unmatched']} call(s) to tool {name!r} "
                          f"matched no simulated route: {examples}", highlight=False,
                          soft_wrap=True)
    for line in warning_lines(result.diagnostics):
        console.print(f"[yellow]warning[/]: {escape(line)}" if not line.startswith("  ")
                      else escape(line), highlight=False, soft_wrap=True)


def print_wide(console: Console, renderable: Any) -> None:
    """Print a table at its natural width even where the terminal (or a pipe's default of
    80 columns) is narrower: wrapped lines read better than every column cut to '…'."""
    needed = console.measure(renderable, options=console.options.update_width(1000)).maximum
    if needed <= console.width:
        console.print(renderable)
        return
    saved = console.width
    console.width = needed
    try:
        console.print(renderable)
    finally:
        console.width = saved


def replay_lines(replays: list[dict[str, Any]], shown: int = 5) -> list[str]:
    """One line per replayed file, then its first unreadable rows by line."""
    lines = []
    for stats in replays:
        extra = []
        if stats.get("unreadable"):
            extra.append(f"{stats['unreadable']:,} unreadable")
        if stats.get("filtered"):
            extra.append(f"{stats['filtered']:,} filtered out")
        if stats.get("after_end"):
            extra.append(f"{stats['after_end']:,} tickets after the end of the run not sent")
        if stats.get("before_start"):
            extra.append(f"{stats['before_start']:,} tickets before the start not sent")
        note = f" ({'; '.join(extra)})" if extra else ""
        lines.append(f"replay {escape(str(stats['path']))}: {stats['sent']:,} tickets sent from "
                     f"{stats['rows']:,} rows{note}")
        for item in (stats.get("first_unreadable") or [])[:shown]:
            lines.append(f"  [yellow]unreadable[/] {escape(str(item['where']))}: "
                         f"{escape(str(item['reason']))}")
        if stats.get("unreadable", 0) > shown:
            lines.append(f"  ... {stats['unreadable'] - shown:,} more unreadable rows "
                         "(results.json lists the first 20 by line)")
    return lines

"""`simharness history`: the recorded runs and sweeps, newest last."""

from __future__ import annotations

import argparse
import json
import math
from datetime import datetime
from pathlib import Path

from rich.console import Console

from ._common import EXIT_OK, EXIT_UNUSABLE, error, say

HELP = "list recorded runs and sweeps (the run history)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--scenario", metavar="NAME", help="only runs of this scenario")
    parser.add_argument("--last", type=int, default=20, metavar="N",
                        help="the N most recent runs (default 20; 0 for all)")
    parser.add_argument("--history", type=Path, metavar="PATH",
                        help="history database (default: $SIMHARNESS_HISTORY or "
                             ".simharness/runs.db)")
    parser.add_argument("--json", action="store_true",
                        help="print the runs as JSON lines (every recorded field)")


def _when(iso: str) -> str:
    try:
        return datetime.fromisoformat(iso).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return iso


def _fig(metrics: dict[str, float], key: str, spec: str) -> str:
    value = metrics.get(key)
    if value is None or math.isnan(value):
        return "-"
    return format(value, spec)


def _seeds(seeds: list[int]) -> str:
    if len(seeds) == 1:
        return str(seeds[0])
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return f"{len(seeds)} seeds"


def _agent(ref: str | None) -> str:
    if not ref:
        return "-"
    module, _, attr = ref.partition(":")
    return f"{module.rsplit('.', 1)[-1]}:{attr}" if attr else ref


def _verdict(complete: bool, passed: bool | None) -> str:
    if not complete:
        return "[yellow]incomplete[/]"
    if passed is None:
        return "-"
    return "[green]pass[/]" if passed else "[bold red]FAIL[/]"


def run(args: argparse.Namespace, console: Console) -> int:
    from rich import box
    from rich.markup import escape
    from rich.table import Table

    from ..history import History, HistoryError, history_path
    from ..report.console import print_wide

    if args.last < 0:
        error(f"--last must be 0 or more, got {args.last}")
        return EXIT_UNUSABLE
    path = history_path(args.history)
    if path is None:
        error("the run history is off ($SIMHARNESS_HISTORY); pass --history PATH")
        return EXIT_UNUSABLE
    try:
        entries = History(path).runs(args.scenario, args.last or None)
    except HistoryError as exc:
        error(str(exc))
        return EXIT_UNUSABLE
    if args.json:
        for entry in entries:
            row = {k: v for k, v in entry.__dict__.items() if k != "samples"}
            row["metrics"] = {k: None if math.isnan(v) else v for k, v in entry.metrics.items()}
            say(json.dumps(row, sort_keys=True))
        return EXIT_OK
    if not entries:
        say(f"no runs recorded{f' for scenario {args.scenario!r}' if args.scenario else ''} "
            f"in {path}")
        return EXIT_OK
    table = Table(box=box.SIMPLE_HEAD, title=f"run history: {path}", title_justify="left")
    right = {"id", "tickets", "accuracy", "p95 s", "$/ticket"}
    for name in ("id", "when", "kind", "scenario", "hash", "seeds", "agent", "version",
                 "tickets", "accuracy", "p95 s", "$/ticket", "SLOs"):
        table.add_column(name, justify="right" if name in right else "left",
                         no_wrap=name not in ("agent", "version"), overflow="fold")
    table.add_column("run directory", overflow="fold")
    cwd = Path.cwd()
    for e in entries:
        run_dir = e.run_dir or "-"
        if e.run_dir and Path(e.run_dir).is_relative_to(cwd):
            run_dir = str(Path(e.run_dir).relative_to(cwd))
        table.add_row(str(e.id), _when(e.recorded_at), e.kind, escape(e.scenario),
                      e.scenario_hash[:7], _seeds(e.seeds), escape(_agent(e.agent)),
                      escape(e.agent_version or "-"),
                      "-" if e.tickets is None else str(e.tickets),
                      _fig(e.metrics, "routing.accuracy", ".3f"),
                      _fig(e.metrics, "latency.p95", ".2f"),
                      _fig(e.metrics, "cost.per_ticket_usd", ".6f"),
                      _verdict(e.complete, e.passed), escape(run_dir))
    print_wide(console, table)
    return EXIT_OK

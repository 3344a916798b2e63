"""`simharness run`: one scenario, with a progress bar, a summary, results and a report."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rich.console import Console

if TYPE_CHECKING:
    from ..result import Result

from ._common import (
    EXIT_INTERRUPTED,
    EXIT_OK,
    EXIT_SLO_FAILED,
    EXIT_UNUSABLE,
    error,
    missing,
    say,
    unwritable,
    warn,
)
from ._record import add_history_arguments, record

HELP = "run a scenario and report metrics and SLO verdicts"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--agent", help="agent to test, as package.module:attr, or the URL "
                        "of an agent in another process (overrides the scenario's agent)")
    parser.add_argument("--seed", type=int, help="random seed (overrides the scenario's seed)")
    parser.add_argument("--out", type=Path, help="directory for the run's files: results.json, "
                        "records.jsonl, scenario.yaml (as run), five PNG plots and "
                        "report.html (default: runs/<scenario>-seed<seed>, replaced on a "
                        "rerun); an --out that already holds files needs --force")
    parser.add_argument("--force", action="store_true",
                        help="write into an --out directory that already holds files")
    parser.add_argument("--max-tickets", type=int, metavar="N",
                        help="refuse scenarios expected to make more than N tickets "
                             "(default 1,000,000)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_history_arguments(parser)


def _occupied(directory: Path) -> str | None:
    """What is already in `directory` that a run would overwrite or mix with."""
    if not directory.is_dir():
        return None
    if (directory / "results.json").exists():
        return "already holds a run (results.json)"
    if any(directory.iterdir()):
        return "is not empty"
    return None


def run(args: argparse.Namespace, console: Console) -> int:
    from .. import api, checks
    from ..history import record_result
    from ..report.console import print_summary, progress_bar

    if missing(args.scenario):
        return EXIT_UNUSABLE
    scenario = api.as_scenario(args.scenario)
    for warning in checks.warnings(scenario):
        warn(str(warning))
    checks.check_run(scenario, args.max_tickets)  # before anything is written
    seed = scenario.seed if args.seed is None else args.seed
    out_dir = args.out or Path("runs") / f"{scenario.name}-seed{seed}"
    problem = unwritable(out_dir)
    if problem:  # say so now, not after a long run
        error(f"cannot write results to {out_dir}: {problem}")
        return EXIT_UNUSABLE
    occupied = _occupied(out_dir)
    if occupied and args.out is not None and not args.force:
        error(f"--out {out_dir} {occupied}; pass --force to write into it, or choose "
              "another directory")
        return EXIT_UNUSABLE
    if occupied:
        say(f"replacing the earlier run in {out_dir}")
    try:
        with progress_bar(console, enabled=not args.quiet) as progress:
            result = api.run(scenario, agent=args.agent, seed=seed, progress=progress,
                             max_tickets=args.max_tickets)
    except api.RunInterrupted as stop:
        return _keep_partial(args, stop.result, out_dir)
    # matplotlib loads only now, into the memory the run's columns just gave back
    from ..report.html import write_report

    try:
        out = result.save(out_dir)
        report = write_report(result, out)
    except OSError as exc:
        error(f"cannot write results to {out_dir}: {exc.strerror or exc}")
        return EXIT_UNUSABLE
    print_summary(result, console)
    say(f"results written to {out / 'results.json'} and {out / 'records.jsonl'}")
    say(f"report written to {report}")
    say(f"reproduce: {result.reproduce_command()}")
    record(args, lambda db: record_result(result, db, agent=args.agent, run_dir=out))
    if result.stopped_early:
        _explain_stop(result)
        return EXIT_UNUSABLE
    if result.measured_nothing:
        error("the run measured nothing: no ticket arrived, so no SLO can pass (check the "
              "traffic rates and their start/until against the duration)")
        return EXIT_UNUSABLE
    return EXIT_OK if result.passed else EXIT_SLO_FAILED


def _keep_partial(args: argparse.Namespace, result: Result, out_dir: Path) -> int:
    """Ctrl-C: write the tickets that finished, mark the run incomplete in its results and
    the history, and say where in one line (the report can be drawn later with
    `simharness report`)."""
    from ..history import record_result

    try:
        out = result.save(out_dir)
    except OSError as exc:
        error(f"interrupted; the partial run could not be written to {out_dir}: "
              f"{exc.strerror or exc}")
        return EXIT_INTERRUPTED
    entry = record(args, lambda db: record_result(result, db, agent=args.agent, run_dir=out),
                   quiet=True)
    recorded = f"; run #{entry.id} in the history, marked incomplete" if entry else ""
    simulated = _about(result.diagnostics["simulated_seconds"])
    print(f"interrupted: partial run ({len(result.store)} finished tickets, {simulated} of "
          f"{_about(result.scenario.duration)} simulated) written to {out}{recorded}",
          file=sys.stderr, flush=True)
    return EXIT_INTERRUPTED


def _about(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f}s"
    return f"{seconds / 60:.0f}m" if seconds < 7200 else f"{seconds / 3600:.1f}h"


def _explain_stop(result: object) -> None:
    """Which tickets hung, why and where: what a user needs to fix the agent."""
    diagnostics = result.diagnostics  # type: ignore[attr-defined]
    error(result.stopped_early)  # type: ignore[attr-defined]
    hangs = diagnostics["hangs"]
    for hang in hangs[:5]:
        ticket = f"ticket {hang['ticket_id']}" if hang["ticket_id"] else "the simulation"
        error(f"{ticket} at {hang['at']:g} s simulated: {hang['why']}")
        for line in hang["stack"][-6:]:
            error(f"    {line}")
    if len(hangs) > 5:
        error(f"... and {len(hangs) - 5} more in results.json (diagnostics.hangs)")

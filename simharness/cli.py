"""The `simharness` command: run, compare, sweep and validate scenarios, rebuild reports.

Exit codes: 0 all good, 1 an SLO failed, 2 the scenario or agent is unusable.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from . import __version__
from .errors import ScenarioError, SimHarnessError

EXIT_OK, EXIT_SLO_FAILED, EXIT_UNUSABLE = 0, 1, 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simharness",
        description="Run real agent code through simulated traffic, faults and time.",
        epilog="exit codes: 0 all good, 1 an SLO in `expect:` failed, "
               "2 the scenario or agent is unusable")
    parser.add_argument("--version", action="version", version=f"simharness {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and report metrics and SLO verdicts")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--agent", help="agent to test, as package.module:attr "
                     "(overrides the scenario's agent.ref)")
    run.add_argument("--seed", type=int, help="random seed (overrides the scenario's seed)")
    run.add_argument("--out", type=Path, help="directory for results.json and records.jsonl "
                     "(default: runs/<scenario>-seed<seed>)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    compare = sub.add_parser(
        "compare", help="run agents through scenarios and print a table of the results")
    compare.add_argument("scenarios", nargs="+", type=Path, help="scenario YAML files")
    compare.add_argument("--agent", action="append", dest="agents",
                         help="an agent as package.module:attr (repeatable; default: the "
                              "reference NaiveRouter and ResilientRouter)")
    compare.add_argument("--seed", type=int, help="random seed (overrides each scenario's)")
    compare.add_argument("--markdown", action="store_true",
                         help="print a Markdown table (for READMEs and CI summaries)")

    report = sub.add_parser("report", help="rebuild the plots and report.html of a saved run")
    report.add_argument("run_dir", type=Path, help="a directory written by `simharness run`")

    sweep = sub.add_parser(
        "sweep", help="run a grid of scenario overrides x seeds and summarise across seeds")
    sweep.add_argument("scenario", type=Path, help="scenario YAML file")
    sweep.add_argument("--grid", action="append", default=[], metavar="PATH=V1,V2,...",
                       help="a scenario path and the values to try, e.g. "
                            "traffic[0].synthetic.rate=1/s,2/s,4/s (repeatable: the grid is "
                            "the product)")
    sweep.add_argument("--seeds", type=int, default=5, help="seeds per grid point (default 5)")
    sweep.add_argument("--agent", help="agent to test, as package.module:attr")
    sweep.add_argument("--out", type=Path, help="directory for sweep.csv, sweep.json and plots "
                       "(default: runs/<scenario>-sweep)")
    sweep.add_argument("--executor", choices=["process", "dask", "serial"], default="process",
                       help="where runs execute (default: a local process pool)")
    sweep.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 "
                       "(with --executor dask; default: a LocalCluster)")
    sweep.add_argument("--workers", type=int, help="parallel processes (default: the CPU "
                       "count for the process pool, 2 for a Dask LocalCluster)")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", nargs="+", type=Path, help="scenario YAML files")
    return parser


def _say(text: str) -> None:
    """A plain line on stdout (never wrapped, so every error stays on one line)."""
    print(text, file=sys.stdout, flush=True)


def _error(text: str) -> None:
    """`error: ...` on stderr, one line per problem."""
    for line in text.splitlines() or [""]:
        print(f"error: {line}", file=sys.stderr, flush=True)


def _missing(path: Path) -> bool:
    if path.exists():
        return False
    _error(f"no such scenario file: {path}")
    return True


def _cmd_validate(paths: Sequence[Path]) -> int:
    from .scenario import load_scenario

    bad = 0
    for path in paths:
        if _missing(path):
            bad += 1
            continue
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            bad += 1
            for error in exc.errors:
                _say(str(error))
        else:
            _say(f"{path}: ok ({scenario.name})")
    return EXIT_UNUSABLE if bad else EXIT_OK


def _unwritable(directory: Path) -> str | None:
    """Why results could not be written into `directory` (checked without creating it),
    or None when they can."""
    existing = directory.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"permission denied in {existing}"
    return None


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    from . import api
    from .report.console import print_summary, progress_bar
    from .report.html import write_report

    if _missing(args.scenario):
        return EXIT_UNUSABLE
    scenario = api.as_scenario(args.scenario)
    seed = scenario.seed if args.seed is None else args.seed
    out_dir = args.out or Path("runs") / f"{scenario.name}-seed{seed}"
    problem = _unwritable(out_dir)
    if problem:  # say so now, not after a long run
        _error(f"cannot write results to {out_dir}: {problem}")
        return EXIT_UNUSABLE
    with progress_bar(console, enabled=not args.quiet) as progress:
        result = api.run(scenario, agent=args.agent, seed=seed, progress=progress)
    try:
        out = result.save(out_dir)
        report = write_report(result, out)
    except OSError as exc:
        _error(f"cannot write results to {out_dir}: {exc.strerror or exc}")
        return EXIT_UNUSABLE
    print_summary(result, console)
    _say(f"results written to {out / 'results.json'} and {out / 'records.jsonl'}")
    _say(f"report written to {report}")
    return EXIT_OK if result.passed else EXIT_SLO_FAILED


def _cmd_compare(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from .compare import HEADER, REFERENCE_AGENTS, Row, cells, compare, to_markdown

    for path in args.scenarios:
        if _missing(path):
            return EXIT_UNUSABLE
    agents = args.agents or list(REFERENCE_AGENTS)
    total = len(args.scenarios) * len(agents)
    done = [0]

    def note(row: Row) -> None:
        done[0] += 1
        if not args.markdown:
            console.print(f"[{done[0]}/{total}] {row.scenario} / {row.agent}", highlight=False)

    rows = compare(args.scenarios, agents, seed=args.seed, on_row=note)
    if args.markdown:
        _say(to_markdown(rows))
    else:
        table = Table(*HEADER)
        for row in rows:
            table.add_row(*cells(row))
        console.print(table)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        if args.command == "validate":
            return _cmd_validate(args.scenarios)
        if args.command == "compare":
            return _cmd_compare(args, Console())
        if args.command == "report":
            from .report.command import run_report_command

            return run_report_command(args, Console())
        if args.command == "sweep":
            from .sweep import run_sweep_command

            return run_sweep_command(args, Console())
        return _cmd_run(args, Console())
    except ScenarioError as exc:
        for error in exc.errors:
            _error(str(error))
        return EXIT_UNUSABLE
    except SimHarnessError as exc:  # AgentError, SimulationError
        _error(str(exc))
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        _error("interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())

"""The `simharness` command: run and validate scenarios.

Exit codes: 0 all good, 1 an SLO failed, 2 the scenario or agent is unusable.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from .errors import SimHarnessError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="simharness",
        description="Run real agent code through simulated traffic, faults and time.")
    sub = parser.add_subparsers(dest="command", required=True)

    run = sub.add_parser("run", help="run a scenario and report metrics and SLO verdicts")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--agent", help="agent to test, as package.module:attr "
                     "(overrides the scenario's agent.ref)")
    run.add_argument("--seed", type=int, help="random seed (overrides the scenario's seed)")
    run.add_argument("--out", type=Path, help="directory for results.json and records.jsonl "
                     "(default: runs/<scenario>-seed<seed>)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", nargs="+", type=Path, help="scenario YAML files")
    return parser


def _cmd_validate(paths: Sequence[Path], console: Console) -> int:
    from .scenario import load_scenario

    bad = 0
    for path in paths:
        try:
            scenario = load_scenario(path)
        except SimHarnessError as exc:
            bad += 1
            console.print(str(exc), markup=False, highlight=False)
        else:
            console.print(f"{path}: ok ({scenario.name})", markup=False, highlight=False)
    return 2 if bad else 0


def _cmd_run(args: argparse.Namespace, console: Console) -> int:
    from . import api
    from .report.console import print_summary, progress_bar

    scenario = api.as_scenario(args.scenario)
    seed = scenario.seed if args.seed is None else args.seed
    with progress_bar(console, enabled=not args.quiet) as progress:
        result = api.run(scenario, agent=args.agent, seed=seed, progress=progress)
    out = result.save(args.out or Path("runs") / f"{scenario.name}-seed{seed}")
    print_summary(result, console)
    console.print(f"results written to {out}/results.json and {out}/records.jsonl",
                  markup=False, highlight=False)
    return 0 if result.passed else 1


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    console = Console(stderr=False)
    try:
        if args.command == "validate":
            return _cmd_validate(args.scenarios, console)
        return _cmd_run(args, console)
    except SimHarnessError as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False, highlight=False)
        return 2
    except FileNotFoundError as exc:
        Console(stderr=True).print(f"error: {exc}", markup=False, highlight=False)
        return 2


if __name__ == "__main__":
    sys.exit(main())

"""The `simharness` command. Each subcommand is one module of this package with `HELP`,
`add_arguments(parser)` and `run(args, console) -> exit code`; `COMMANDS` lists them in
the order `--help` shows them.

Exit codes: 0 all good, 1 an SLO failed, 2 the scenario or agent is unusable, 130
interrupted.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence
from types import ModuleType

from .. import __version__
from ..errors import ScenarioError, SimHarnessError
from ._common import EXIT_INTERRUPTED, EXIT_UNUSABLE, error, make_console

#: Subcommand name -> module under simharness.cli.
COMMANDS: dict[str, str] = {
    "run": "run",
    "compare": "compare",
    "report": "report",
    "sweep": "sweep",
    "validate": "validate",
    "history": "history",
    "diff": "diff",
    "traffic": "traffic",
    "calibrate": "calibrate",
    "schema": "schema",
    "init": "init",
    "serve": "serve",
}


def _module(name: str) -> ModuleType:
    return importlib.import_module(f"{__name__}.{COMMANDS[name]}")


def parser() -> argparse.ArgumentParser:
    """The whole command line, every subcommand included."""
    top = argparse.ArgumentParser(
        prog="simharness",
        description="Run real agent code through simulated traffic, faults and time.",
        epilog="exit codes: 0 all good, 1 an SLO in `expect:` failed, "
               "2 the scenario or agent is unusable, 130 interrupted")
    top.add_argument("--version", action="version", version=f"simharness {__version__}")
    sub = top.add_subparsers(dest="command", required=True)
    for name in COMMANDS:
        module = _module(name)
        command = sub.add_parser(name, help=module.HELP, description=module.HELP)
        module.add_arguments(command)
    return top


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        code: int = _module(args.command).run(args, make_console())
        return code
    except ScenarioError as exc:
        for problem in exc.errors:
            error(str(problem))
        return EXIT_UNUSABLE
    except SimHarnessError as exc:  # AgentError, SimulationError
        error(str(exc))
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        error("interrupted")
        return EXIT_INTERRUPTED


if __name__ == "__main__":
    sys.exit(main())

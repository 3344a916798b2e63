"""`simharness validate`: check scenario files without running them."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ..errors import ScenarioError
from ._common import EXIT_OK, EXIT_UNUSABLE, missing, say

HELP = "check scenario files without running them"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="+", type=Path, help="scenario YAML files")


def run(args: argparse.Namespace, console: Console) -> int:
    from ..scenario import load_scenario

    bad = 0
    for path in args.scenarios:
        if missing(path):
            bad += 1
            continue
        try:
            scenario = load_scenario(path)
        except ScenarioError as exc:
            bad += 1
            for error in exc.errors:
                say(str(error))
        else:
            say(f"{path}: ok ({scenario.name})")
    return EXIT_UNUSABLE if bad else EXIT_OK

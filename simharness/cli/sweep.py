"""`simharness sweep`: a grid of scenario overrides x seeds, summarised across seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ._record import add_history_arguments

HELP = "run a grid of scenario overrides x seeds and summarise across seeds"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--grid", action="append", default=[], metavar="PATH=V1,V2,...",
                        help="a scenario path and the values to try, e.g. "
                             "traffic[0].synthetic.rate=1/s,2/s,4/s (repeatable: the grid is "
                             "the product)")
    parser.add_argument("--seeds", type=int, default=5, help="seeds per grid point (default 5)")
    parser.add_argument("--agent", help="agent to test, as package.module:attr")
    parser.add_argument("--out", type=Path, help="directory for sweep.csv, sweep.json and plots "
                        "(default: runs/<scenario>-sweep)")
    parser.add_argument("--executor", choices=["process", "dask", "serial"], default="process",
                        help="where runs execute (default: a local process pool)")
    parser.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://host:8786 "
                        "(with --executor dask; default: a LocalCluster)")
    parser.add_argument("--workers", type=int, help="parallel processes (default: the CPU "
                        "count for the process pool, 2 for a Dask LocalCluster)")
    parser.add_argument("--max-tickets", type=int, metavar="N",
                        help="refuse grid points expected to make more than N tickets "
                             "(default 1,000,000)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    add_history_arguments(parser)


def run(args: argparse.Namespace, console: Console) -> int:
    from ..sweep import run_sweep_command

    return run_sweep_command(args, console)

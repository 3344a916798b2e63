"""`simharness report RUN_DIR`: rebuild the plots and report.html of a saved run."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

HELP = "rebuild the plots and report.html of a saved run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("run_dir", type=Path, help="a directory written by `simharness run`")


def run(args: argparse.Namespace, console: Console) -> int:
    from ..report.command import run_report_command

    return run_report_command(args, console)

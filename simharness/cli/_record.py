"""`--history PATH` / `--no-history` for the commands that run things, and the recording
itself: a run whose history cannot be written still keeps its files (a warning says so)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from ._common import say

if TYPE_CHECKING:
    from ..history import RunEntry


def add_history_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--history", type=Path, metavar="PATH",
                       help="record the run in this history database (default: "
                            "$SIMHARNESS_HISTORY or .simharness/runs.db)")
    group.add_argument("--no-history", action="store_true",
                       help="do not record the run in the run history")


def record(args: argparse.Namespace, write: Callable[[Path], RunEntry],
           quiet: bool = False) -> RunEntry | None:
    """Call `write(db_path)` unless history is off, and say which id the run got (unless
    `quiet`); returns the entry, or None when nothing was recorded."""
    from ..history import HistoryError, history_path

    path = history_path(args.history, disabled=args.no_history)
    if path is None:
        return None
    try:
        entry = write(path)
    except HistoryError as exc:
        print(f"warning: the run was not recorded in the history: {exc}", file=sys.stderr,
              flush=True)
        return None
    if not quiet:
        say(f"recorded as {entry.kind} #{entry.id} in {path}")
    return entry

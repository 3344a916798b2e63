"""`simharness report RUN_DIR`: rebuild the PNGs and report.html of a saved run.

Useful after upgrading simharness (new plots on old runs) or when only the files of a run
were kept, e.g. CI artifacts. Exit codes follow the CLI: 0 written, 2 unusable directory.
"""

from __future__ import annotations

import argparse
import sys

from rich.console import Console

from .html import write_report
from .store import RunDirError, load_run

EXIT_OK, EXIT_UNUSABLE = 0, 2


def _error(text: str) -> None:
    print(f"error: {text}", file=sys.stderr, flush=True)


def run_report_command(args: argparse.Namespace, console: Console) -> int:
    """Load `args.run_dir` and write the report next to its files."""
    try:
        run = load_run(args.run_dir)
    except RunDirError as exc:
        _error(str(exc))
        return EXIT_UNUSABLE
    try:
        path = write_report(run, args.run_dir)
    except RunDirError as exc:  # a bad line of records.jsonl, found while reading it
        _error(str(exc))
        return EXIT_UNUSABLE
    except OSError as exc:
        _error(f"cannot write the report into {args.run_dir}: {exc.strerror or exc}")
        return EXIT_UNUSABLE
    verdict = "PASSED" if run.passed else "FAILED"
    if not run.complete:
        verdict = "interrupted: a partial run"
    console.print(f"{run.name} (seed {run.seed}): {run.digest.count:,} tickets, {verdict}",
                  highlight=False)
    print(f"report written to {path}", flush=True)
    return EXIT_OK

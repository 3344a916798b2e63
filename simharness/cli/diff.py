"""`simharness diff A B`: metric deltas between two runs or sweeps, tested across seeds."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ._common import EXIT_OK, EXIT_SLO_FAILED, EXIT_UNUSABLE, error

HELP = "compare two runs or sweeps: metric deltas with a significance test per delta"

EPILOG = """\
A and B are run ids from `simharness history`, run directories or sweep directories;
A is the baseline. With several seeds on either side every delta is tested (paired t
when both sides ran the same seeds, Welch's t otherwise) and called a regression only
when it is significant, in the worse direction and beyond its tolerance.
exit codes: 0 compared (no regression, or no --fail-on-regression), 1 a regression with
--fail-on-regression, 2 a side cannot be read"""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = EPILOG
    parser.add_argument("a", metavar="A", help="baseline: run id, run directory or sweep "
                        "directory")
    parser.add_argument("b", metavar="B", help="candidate, compared against A")
    parser.add_argument("--metric", action="append", dest="metrics", metavar="GLOB",
                        help="metric paths to compare, e.g. 'routing.*' (repeatable; "
                             "default: the headline metrics)")
    parser.add_argument("--tolerance", action="append", default=[], metavar="METRIC=VALUE",
                        help="how much worse a metric may get before it is a regression: "
                             "absolute (routing.accuracy=0.01) or relative to A "
                             "(latency.p95=10%%); repeatable, METRIC may be a glob")
    parser.add_argument("--fail-on-regression", action="store_true",
                        help="exit 1 when any metric regressed (for CI)")
    parser.add_argument("--alpha", type=float, default=0.05,
                        help="significance level (default 0.05)")
    parser.add_argument("--history", type=Path, metavar="PATH",
                        help="history database for run ids (default: $SIMHARNESS_HISTORY or "
                             ".simharness/runs.db)")


def run(args: argparse.Namespace, console: Console) -> int:
    from ..regression import DiffError, compare, load_side, parse_tolerance, render

    if not 0 < args.alpha < 1:
        error(f"--alpha must be between 0 and 1, got {args.alpha}")
        return EXIT_UNUSABLE
    try:
        tolerances = dict(parse_tolerance(t) for t in args.tolerance)
        a = load_side(args.a, args.history)
        b = load_side(args.b, args.history)
        comparison = compare(a, b, metrics=args.metrics, tolerances=tolerances,
                             alpha=args.alpha)
    except DiffError as exc:
        error(str(exc))
        return EXIT_UNUSABLE
    if not comparison.deltas:
        error("no metric to compare" + (f" matches {', '.join(args.metrics)}"
                                        if args.metrics else ""))
        return EXIT_UNUSABLE
    render(comparison, console)
    if args.fail_on_regression and comparison.regressions:
        return EXIT_SLO_FAILED
    return EXIT_OK

"""`simharness compare`: agents x scenarios in one table (Markdown for READMEs and CI)."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ._common import EXIT_OK, EXIT_UNUSABLE, missing, say

HELP = "run agents through scenarios and print a table of the results"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenarios", nargs="+", type=Path, help="scenario YAML files")
    parser.add_argument("--agent", action="append", dest="agents",
                        help="an agent as package.module:attr (repeatable; default: the "
                             "reference NaiveRouter and ResilientRouter)")
    parser.add_argument("--seed", type=int, help="random seed (overrides each scenario's)")
    parser.add_argument("--max-tickets", type=int, metavar="N",
                        help="refuse scenarios expected to make more than N tickets "
                             "(default 1,000,000)")
    parser.add_argument("--markdown", action="store_true",
                        help="print a Markdown table (for READMEs and CI summaries)")


def run(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

    from ..compare import HEADER, REFERENCE_AGENTS, Row, cells, compare, to_markdown

    for path in args.scenarios:
        if missing(path):
            return EXIT_UNUSABLE
    agents = args.agents or list(REFERENCE_AGENTS)
    total = len(args.scenarios) * len(agents)
    done = [0]

    def note(row: Row) -> None:
        done[0] += 1
        if not args.markdown:
            console.print(f"[{done[0]}/{total}] {row.scenario} / {row.agent}", highlight=False)

    rows = compare(args.scenarios, agents, seed=args.seed, on_row=note,
                   max_tickets=args.max_tickets)
    if args.markdown:
        say(to_markdown(rows))
    else:
        table = Table(*HEADER)
        for row in rows:
            table.add_row(*cells(row))
        console.print(table)
    return EXIT_OK

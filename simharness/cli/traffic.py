"""`simharness traffic export`: the traffic a scenario would send, as CSV or JSONL."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ._common import EXIT_OK, EXIT_UNUSABLE, error, missing, say, unwritable

HELP = "work with a scenario's traffic (export it to CSV/JSONL for replay or labelling)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="traffic_command", required=True)
    export = sub.add_parser(
        "export", help="write the tickets a scenario would send, with truth columns",
        description="Write the tickets a scenario would send (synthetic or replayed), one row "
        "per message in time order, with the truth columns (route, escalate, tags). The file "
        "replays with the mapping printed at the end.")
    export.add_argument("scenario", type=Path, help="scenario YAML file")
    export.add_argument("--out", type=Path, required=True,
                        help="file to write: .csv, or .jsonl for JSON lines")
    export.add_argument("--format", choices=("csv", "jsonl"),
                        help="file format (default: from the --out suffix, else csv)")
    export.add_argument("--seed", type=int, help="random seed (overrides the scenario's)")
    export.add_argument("--limit", type=int, help="write at most this many rows")


def run(args: argparse.Namespace, console: Console) -> int:
    import yaml

    from .. import api
    from ..traffic.export import export_traffic, replay_section

    if missing(args.scenario):
        return EXIT_UNUSABLE
    if args.limit is not None and args.limit < 1:
        error("--limit must be at least 1")
        return EXIT_UNUSABLE
    problem = unwritable(args.out.parent)
    if problem:
        error(f"cannot write {args.out}: {problem}")
        return EXIT_UNUSABLE
    scenario = api.as_scenario(args.scenario)
    try:
        rows = export_traffic(scenario, args.out, seed=args.seed, fmt=args.format,
                              limit=args.limit)
    except OSError as exc:
        error(f"cannot write {args.out}: {exc.strerror or exc}")
        return EXIT_UNUSABLE
    say(f"{rows:,} rows written to {args.out}")
    fmt = args.format or ("jsonl" if args.out.suffix.lower() in (".jsonl", ".ndjson")
                          else "csv")
    section = {"traffic": [{"replay": replay_section(str(args.out), csv_format=fmt == "csv")}]}
    say("replay it with (path relative to the scenario file):")
    say(yaml.safe_dump(section, sort_keys=False, default_flow_style=None).rstrip())
    return EXIT_OK

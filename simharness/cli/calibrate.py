"""`simharness calibrate`: fit a simulated LLM tier to a log of real model calls."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ._common import EXIT_OK, EXIT_UNUSABLE, error, say

HELP = "fit a world.llm tier (latency, accuracy, confusion) to a JSONL log of real model calls"


def _pairs(values: list[str] | None, option: str) -> dict[str, str]:
    out = {}
    for value in values or []:
        key, sep, name = value.partition("=")
        if not sep or not key or not name:
            raise ValueError(f"{option} expects KEY=VALUE, got {value!r}")
        out[key] = name
    return out


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("log", type=Path, help="JSON lines, one model call each: latency "
                        "(seconds), prompt_tokens, completion_tokens, true_route, pred_route, "
                        "tags")
    parser.add_argument("--tier", required=True, help="name of the tier to print")
    parser.add_argument("--field", action="append", metavar="FIELD=NAME",
                        help="where a field is in the log, e.g. latency=duration or "
                             "prompt_tokens=usage.prompt_tokens (repeatable)")
    parser.add_argument("--only", action="append", metavar="NAME=VALUE",
                        help="use only calls whose NAME equals VALUE, e.g. model=gpt-4o-mini")
    parser.add_argument("--latency-unit", choices=("s", "ms"), default="s",
                        help="unit of the latency field (default s)")


def run(args: argparse.Namespace, console: Console) -> int:
    from ..calibrate import FIELD_NAMES, CalibrationError, calibrate

    try:
        mapping, only = _pairs(args.field, "--field"), _pairs(args.only, "--only")
    except ValueError as exc:
        error(str(exc))
        return EXIT_UNUSABLE
    unknown = sorted(set(mapping) - set(FIELD_NAMES))
    if unknown:
        error(f"--field: unknown field {unknown[0]!r} (fields: {', '.join(FIELD_NAMES)})")
        return EXIT_UNUSABLE
    try:
        result = calibrate(args.log, args.tier, mapping, only=only,
                           latency_scale=0.001 if args.latency_unit == "ms" else 1.0)
    except CalibrationError as exc:
        error(str(exc))
        return EXIT_UNUSABLE
    say(result.yaml().rstrip())
    return EXIT_OK

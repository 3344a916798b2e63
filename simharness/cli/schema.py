"""`simharness schema`: the JSON Schema of the scenario format, and the pages made from it."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ._common import EXIT_OK, EXIT_UNUSABLE, error, say

HELP = "print the JSON Schema of the scenario format (for editors), or write it and the docs"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--output", "-o", type=Path,
                        help="write the schema to this file instead of printing it "
                             "(e.g. scenario.schema.json)")
    parser.add_argument("--docs", type=Path, metavar="DIR",
                        help="also write the Markdown format reference and fault catalogue "
                             "(scenario-format.md, faults.md) into DIR")
    parser.add_argument("--check", action="store_true",
                        help="write nothing: exit 2 if --output or the --docs pages differ "
                             "from what this version generates (for CI)")


def run(args: argparse.Namespace, console: Console) -> int:
    from ..schema import schema_text
    from ..schema_docs import pages

    text = schema_text()
    if args.output is None and args.docs is None:
        if args.check:
            error("--check needs --output FILE and/or --docs DIR to compare with")
            return EXIT_UNUSABLE
        print(text, end="")
        return EXIT_OK
    import json

    schema = json.loads(text)
    wanted: dict[Path, str] = {}
    if args.output is not None:
        wanted[args.output] = text
    if args.docs is not None:
        wanted.update({args.docs / name: page for name, page in pages(schema).items()})
    if args.check:
        stale = [p for p, page in wanted.items()
                 if not p.exists() or p.read_text(encoding="utf-8") != page]
        command = "simharness schema"
        if args.output is not None:
            command += f" --output {args.output}"
        if args.docs is not None:
            command += f" --docs {args.docs}"
        for path in stale:
            error(f"{path} is out of date; regenerate it with `{command}`")
        if not stale:
            say(f"up to date: {', '.join(str(p) for p in wanted)}")
        return EXIT_UNUSABLE if stale else EXIT_OK
    for path, page in wanted.items():
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(page, encoding="utf-8")
        except OSError as exc:
            error(f"cannot write {path}: {exc.strerror or exc}")
            return EXIT_UNUSABLE
        say(f"wrote {path}")
    return EXIT_OK

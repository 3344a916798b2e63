"""`simharness init [DIR]`: a starter kit, such that `simharness run` and `pytest` pass at once.

It writes a scenario pointing at a starter agent (sync, httpx, a timeout and a fallback),
the agent, a test file using the pytest plugin, pytest's configuration, and the scenario
schema for the editor, into a new or empty folder (it never overwrites anything).
"""

from __future__ import annotations

import argparse
from importlib import resources
from pathlib import Path

from rich.console import Console

from ._common import EXIT_OK, EXIT_UNUSABLE, error, say

HELP = "write a starter kit (scenario, agent, tests, pytest config) into a new or empty folder"

#: Path in the kit -> template in simharness/starter/.
FILES = {
    "support_agent.py": "support_agent.py.txt",
    "scenarios/smoke.yaml": "smoke.yaml.txt",
    "tests/test_agent.py": "test_agent.py.txt",
    "pyproject.toml": "pyproject.toml.txt",
    "README.md": "README.md.txt",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("directory", nargs="?", type=Path, default=Path("."),
                        help="where to write the kit (default: the current folder, "
                             "which must be empty)")


def run(args: argparse.Namespace, console: Console) -> int:
    from ..schema import SCHEMA_FILE, schema_text

    target: Path = args.directory
    if target.exists() and not target.is_dir():
        error(f"{target} is a file, not a folder")
        return EXIT_UNUSABLE
    if target.exists() and any(target.iterdir()):
        error(f"{target} is not empty; simharness init writes into a new or empty folder "
              "(it never overwrites files)")
        return EXIT_UNUSABLE
    templates = resources.files("simharness.starter")
    contents = {path: templates.joinpath(name).read_text(encoding="utf-8")
                for path, name in FILES.items()}
    contents[SCHEMA_FILE] = schema_text()
    try:
        for path, text in contents.items():
            out = target / path
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(text, encoding="utf-8")
    except OSError as exc:
        error(f"cannot write the starter kit into {target}: {exc.strerror or exc}")
        return EXIT_UNUSABLE
    for path in contents:
        say(f"wrote {target / path}")
    where = "" if target == Path(".") else f"cd {target} && "
    say(f"next: {where}simharness run scenarios/smoke.yaml && python -m pytest")
    return EXIT_OK

"""What every command shares: exit codes, the console, and plain, never-wrapped lines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from rich.console import Console

EXIT_OK, EXIT_SLO_FAILED, EXIT_UNUSABLE = 0, 1, 2
EXIT_INTERRUPTED = 130

#: Width of tables printed off a terminal (a CI log, a pipe): wide enough that no table
#: is squeezed; tables only take the width they need. `COLUMNS` overrides it.
PLAIN_WIDTH = 400


def make_console() -> Console:
    """A rich console: the terminal's width on a terminal; off one (CI logs, pipes), no
    colours and a wide page, so tables are never cut to 80 columns."""
    console = Console()
    if console.is_terminal or "COLUMNS" in os.environ:
        return console
    return Console(width=PLAIN_WIDTH, no_color=True, highlight=False)


def warn(text: str) -> None:
    """`warning: ...` on stderr."""
    print(f"warning: {text}", file=sys.stderr, flush=True)


def listed(items: list[str], limit: int = 5) -> list[str]:
    """At most `limit` items, then one saying how many more there are."""
    if len(items) <= limit:
        return items
    return [*items[:limit], f"... and {len(items) - limit:,} more"]


def say(text: str) -> None:
    """A plain line on stdout (never wrapped, so every error stays on one line)."""
    print(text, file=sys.stdout, flush=True)


def error(text: str) -> None:
    """`error: ...` on stderr, one line per problem."""
    for line in text.splitlines() or [""]:
        print(f"error: {line}", file=sys.stderr, flush=True)


def missing(path: Path) -> bool:
    """Say so and return True when a scenario file does not exist."""
    if path.exists():
        return False
    error(f"no such scenario file: {path}")
    return True


def unwritable(directory: Path) -> str | None:
    """Why results could not be written into `directory` (checked without creating it),
    or None when they can."""
    existing = directory.absolute()
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir():
        return f"{existing} is not a directory"
    if not os.access(existing, os.W_OK | os.X_OK):
        return f"permission denied in {existing}"
    return None

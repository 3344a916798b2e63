"""What every command shares: exit codes and plain, never-wrapped output lines."""

from __future__ import annotations

import os
import sys
from pathlib import Path

EXIT_OK, EXIT_SLO_FAILED, EXIT_UNUSABLE = 0, 1, 2
EXIT_INTERRUPTED = 130


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

"""Shares of CPU time by owner and by function, from a py-spy profile in raw form.

    py-spy record -r 250 -f raw -o prof.txt -- python benchmarks/bench_engine.py ...
    python benchmarks/profile_shares.py prof.txt [--top 15]

A sample belongs to its innermost frame that is not in the standard library (time in
`json`, `http.cookiejar`, `re` ... is charged to the code that called it), grouped by
package, or by module inside simharness. Import time and idle watchdog threads are left
out. Prints markdown tables, as benchmarks/RESULTS.md shows them.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from pathlib import Path

#: First path components of frames that belong to the standard library.
STDLIB = {"json", "http", "re", "random", "email", "urllib", "collections", "asyncio",
          "encodings", "logging", "concurrent", "importlib", "<frozen", "<string>"}
STDLIB_FILES = {"threading.py", "abc.py", "typing.py", "contextlib.py", "functools.py",
                "dataclasses.py", "enum.py", "copy.py", "datetime.py", "string.py",
                "warnings.py", "inspect.py", "weakref.py", "_weakrefset.py", "hmac.py",
                "base64.py", "codecs.py", "socket.py", "random.py", "uuid.py",
                "ipaddress.py", "types.py", "operator.py", "numbers.py", "bisect.py",
                "textwrap.py", "heapq.py", "struct.py", "hashlib.py", "calendar.py"}
SKIP = ("Watchdog._watch", "_find_and_load")


def _file(frame: str) -> str:
    found = re.search(r"\((.*?):\d+\)$", frame)
    return found.group(1) if found else frame


def owner(frame: str) -> str | None:
    """The package (or simharness module) a frame belongs to; None for the stdlib."""
    path = _file(frame)
    first = path.split("/")[0]
    if first.startswith("<frozen"):
        first = "<frozen"
    if first in STDLIB or first in STDLIB_FILES:
        return None
    if path.startswith("simharness/"):
        parts = path.split("/")
        return "/".join(parts[:3] if len(parts) > 2 and parts[1] == "world" else parts[:2])
    return first


def shares(path: Path) -> tuple[int, Counter[str], Counter[str]]:
    """(samples, samples by owner, samples by innermost function)."""
    owners: Counter[str] = Counter()
    functions: Counter[str] = Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack.strip() or any(skip in stack for skip in SKIP):
            continue
        frames = stack.split(";")
        n = int(count)
        total += n
        functions[re.sub(r":\d+\)$", ")", frames[-1])] += n
        owners[next((o for o in map(owner, reversed(frames)) if o), "stdlib")] += n
    return total, owners, functions


def table(title: str, counts: Counter[str], total: int, top: int) -> str:
    lines = [f"| {title} | share |", "|---|---|"]
    lines += [f"| `{name}` | {100 * n / total:.1f} % |" for name, n in counts.most_common(top)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("profile", type=Path, help="py-spy output, recorded with -f raw")
    parser.add_argument("--top", type=int, default=12, help="rows per table")
    args = parser.parse_args(argv)
    total, owners, functions = shares(args.profile)
    if not total:
        print(f"{args.profile}: no samples", file=sys.stderr)
        return 1
    print(f"{total:,} samples\n")
    print(table("owner (innermost non-stdlib frame)", owners, total, args.top) + "\n")
    print(table("function (self time)", functions, total, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

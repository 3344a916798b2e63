"""benchmarks/RESULTS.md holds one section per benchmark script, each written by its script.

A script replaces only its own section (between `<!-- begin NAME -->` and
`<!-- end NAME -->`), so running one benchmark keeps the other scripts' figures, and text
outside the markers stays as it is. Nobody types figures by hand.
"""

from __future__ import annotations

import os
import platform
from pathlib import Path

RESULTS = Path(__file__).resolve().with_name("RESULTS.md")
TITLE = "# Benchmark figures\n"


def _markers(name: str) -> tuple[str, str]:
    return f"<!-- begin {name} -->", f"<!-- end {name} -->"


def section(text: str, name: str) -> str | None:
    """The body of section `name` in `text`, None when it has none."""
    begin, end = _markers(name)
    if begin not in text or end not in text:
        return None
    return text.split(begin, 1)[1].split(end, 1)[0].strip("\n") + "\n"


def write_section(name: str, body: str, path: Path = RESULTS) -> None:
    """Put `body` in `path` as section `name`: in place of the old one, else at the end
    (a missing file starts with the title)."""
    begin, end = _markers(name)
    block = f"{begin}\n{body.strip(chr(10))}\n{end}"
    text = path.read_text(encoding="utf-8") if path.exists() else TITLE
    if section(text, name) is not None:
        head, rest = text.split(begin, 1)
        text = head + block + rest.split(end, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    path.write_text(text, encoding="utf-8")


def machine() -> str:
    """Cores, CPU, memory, system and Python, and how busy the machine is right now."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info
                       if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return (f"{os.cpu_count()} cores ({cpu}), {memory:.0f} GiB, {platform.system()} "
            f"{platform.machine()}, Python {platform.python_version()}; load average "
            f"{load} when the run started")

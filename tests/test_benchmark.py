"""The benchmark script works, and benchmarks/RESULTS.md holds what it wrote.

The figures themselves depend on the machine, so they are not checked here; what is
checked is that a quick run measures and writes every line of its two sections without
touching the rest of the file (other scripts' sections), and that the recorded file has
the script's own full-run lines, with each verdict the one its figure and target give.
"""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO

BENCHMARKS = REPO / "benchmarks"
SCRIPT = BENCHMARKS / "bench_engine.py"
RECORDED = BENCHMARKS / "RESULTS.md"
SECTIONS = ("engine", "frameworks")

sys.path.insert(0, str(BENCHMARKS))
from bench_engine import FRAMEWORK_AGENTS  # noqa: E402
from results_file import section  # noqa: E402


def table(text: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    return [dict(zip(header, (c.strip() for c in line.strip("|").split("|")), strict=True))
            for line in lines[1:]]


def shape(measurement: str) -> str:
    """A measurement's name without its sizes (a quick run measures fewer tickets)."""
    return re.sub(r"\d[\d,]*", "N", measurement)


def number(text: str) -> float:
    found = re.search(r"\d[\d,]*(?:\.\d+)?", text)
    assert found, text
    return float(found.group().replace(",", ""))


def outside(text: str) -> str:
    """`text` without the script's own sections."""
    for name in SECTIONS:
        body = section(text, name)
        if body is not None:
            text = text.replace(body.strip("\n"), "")
    return text


@pytest.fixture(scope="module")
def quick(tmp_path_factory) -> dict[str, str]:
    """The sections a quick run writes into a copy of the recorded file."""
    out = tmp_path_factory.mktemp("bench") / "RESULTS.md"
    before = RECORDED.read_text(encoding="utf-8")
    out.write_text(before, encoding="utf-8")
    done = subprocess.run([sys.executable, str(SCRIPT), "--quick", "--output", str(out)],
                          capture_output=True, text=True, timeout=280, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    after = out.read_text(encoding="utf-8")
    assert outside(after) == outside(before)  # the rest of the file is kept as it was
    sections = {name: section(after, name) for name in SECTIONS}
    for name, body in sections.items():
        assert body is not None, f"the quick run wrote no section {name}"
        assert body.strip("\n") in done.stdout  # what it prints is what it writes
    return sections


@pytest.mark.timeout(300)
def test_quick_run_measures_and_writes_every_line(quick):
    engine = quick["engine"]
    assert engine.startswith("## Engine\n")
    assert "Written by `python benchmarks/bench_engine.py --quick` on " in engine
    machine = next(line for line in engine.splitlines() if line.startswith("Machine: "))
    assert re.search(r"\d+ cores .*\d+ GiB.*Python 3\.\d+.*load average.*httpx", machine)
    rows = table(engine)
    assert len(rows) >= 7
    for row in rows:
        assert re.search(r"\d", row["figure"]), row
        assert row["verdict"] == ("" if row["target"] == "—" else "not judged (quick run)")
    assert sum(row["target"] != "—" for row in rows) >= 5
    assert "Targets met" not in engine

    # a quick run measures only the plain SDK agent, on a few simulated seconds
    (row,) = table(quick["frameworks"])
    assert row["measurement"] == FRAMEWORK_AGENTS[0][0]
    assert re.fullmatch(r"[\d,]+ s / sim hour|skipped", row["figure"]), row


def verdict_follows(row: dict[str, str]) -> bool:
    """Whether the row's verdict is what its figure and target give."""
    target, figure = row["target"], row["figure"]
    if " vs " in figure:  # a ratio of two figures against a limit on that ratio
        first, second = figure.split(" vs ")
        value = number(first) / number(second)
    else:
        value = number(figure)
    limit = number(target)
    met = {"≥": value >= limit, "≤": value <= limit, "<": value < limit}[target.split()[0]]
    return row["verdict"] == ("✔ met" if met else "✘ missed")


@pytest.mark.timeout(300)
def test_recorded_engine_section_is_the_scripts_own_full_run(quick):
    recorded = section(RECORDED.read_text(encoding="utf-8"), "engine")
    assert recorded is not None, "benchmarks/RESULTS.md has no engine section"
    assert "Written by `python benchmarks/bench_engine.py` on " in recorded, (
        "the engine section must come from a full run of benchmarks/bench_engine.py")
    rows = table(recorded)
    assert [shape(r["measurement"]) for r in rows] == [
        shape(r["measurement"]) for r in table(quick["engine"])], (
        "benchmarks/RESULTS.md does not list what the script measures now: run "
        "`python benchmarks/bench_engine.py`")
    judged = [r for r in rows if r["target"] != "—"]
    assert judged and all(verdict_follows(r) for r in judged), judged
    missed = [r["measurement"] for r in judged if r["verdict"] == "✘ missed"]
    met = len(judged) - len(missed)
    assert f"Targets met: {met} of {len(judged)}" in recorded


def test_recorded_frameworks_section_lists_every_framework_agent():
    recorded = section(RECORDED.read_text(encoding="utf-8"), "frameworks")
    assert recorded is not None, "benchmarks/RESULTS.md has no frameworks section"
    assert re.search(r"Written by `python benchmarks/bench_engine.py"
                     r"( --frameworks-minutes [\d.]+)?` on ", recorded)
    rows = table(recorded)
    assert [r["measurement"] for r in rows] == [label for label, _, _ in FRAMEWORK_AGENTS]
    assert re.fullmatch(r"[\d,]+ s / sim hour", rows[0]["figure"]), rows[0]

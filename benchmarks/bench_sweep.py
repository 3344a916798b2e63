"""Sweep throughput: one worker process against two, on a CPU-bound grid.

    python benchmarks/bench_sweep.py            # 2 grid points x 4 seeds (a few minutes)
    python benchmarks/bench_sweep.py --quick    # 2 x 2 short runs, a smoke check

Runs the same sweep (the shipped baseline scenario with the reference ResilientRouter,
shortened, over a grid of two arrival rates) with the process executor at 1 and at 2
workers, and prints runs per second of wall time for each, the speedup, and whether both
gave identical rows (they must: every run is seeded). The figures go to this script's
section of benchmarks/RESULTS.md. The speedup can only reach 2x on a machine whose two
cores are otherwise idle: the load average is printed next to it.
"""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path
from typing import Any

from results_file import machine, write_section

import simharness as sh

REPO = Path(__file__).resolve().parent.parent
SCENARIO = REPO / "scenarios" / "baseline.yaml"
AGENT = "simharness.agents.reference:ResilientRouter"
TARGET = 1.8


def timed_sweep(workers: int, duration: str, seeds: int) -> tuple[float, list[dict[str, Any]]]:
    """(wall seconds, rows without their wall times) of the sweep with `workers`."""
    grid = {"duration": [duration], "traffic[0].synthetic.rate": ["2/s", "3/s"]}
    start = time.perf_counter()
    result = sh.sweep(SCENARIO, grid, seeds, agent=AGENT, executor="process", workers=workers)
    wall = time.perf_counter() - start
    rows = [{k: v for k, v in row.items() if k != "wall_seconds"} for row in result.rows]
    return wall, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 x 2 runs of 2 minutes")
    parser.add_argument("--no-write", action="store_true",
                        help="print only; leave benchmarks/RESULTS.md alone")
    args = parser.parse_args()
    duration, seeds = ("2m", 2) if args.quick else ("20m", 4)
    runs = 2 * seeds
    one, rows_one = timed_sweep(1, duration, seeds)
    print(f"1 worker : {runs} runs in {one:.1f} s ({runs / one:.3f} runs/s)", flush=True)
    two, rows_two = timed_sweep(2, duration, seeds)
    print(f"2 workers: {runs} runs in {two:.1f} s ({runs / two:.3f} runs/s)", flush=True)
    speedup = one / two
    same = rows_one == rows_two
    verdict = "✔" if speedup >= TARGET else "✘"
    print(f"speedup {speedup:.2f}x (target ≥ {TARGET}x {verdict}); rows identical: {same}")
    if not same:
        raise SystemExit("the two sweeps gave different rows")
    if args.no_write or args.quick:
        return
    lines = [
        "## Sweep throughput",
        "",
        f"`python benchmarks/bench_sweep.py` ({date.today().isoformat()}; {machine()}). "
        f"`scenarios/baseline.yaml` cut to {duration}, rates 2/s and 3/s, {seeds} seeds "
        f"each ({runs} runs), the reference ResilientRouter, process executor; each sweep "
        "includes starting its worker processes.",
        "",
        "| workers | wall time | runs/s | speedup | target |",
        "|---|---|---|---|---|",
        f"| 1 | {one:.1f} s | {runs / one:.3f} | 1.00x | — |",
        f"| 2 | {two:.1f} s | {runs / two:.3f} | {speedup:.2f}x | ≥ {TARGET}x {verdict} |",
        "",
        f"Rows identical between the two: {'yes' if same else 'NO'}.",
    ]
    write_section("bench_sweep", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

"""Peak memory of big runs: records stream to disk, so memory stays flat in tickets.

    python benchmarks/bench_scale.py            # 100,000 and 1,000,000 tickets (minutes);
                                                # 1,000,000 again in JSON lines chunks
    python benchmarks/bench_scale.py --quick    # 20,000 tickets, a smoke check
    python benchmarks/bench_scale.py --tickets 300000 --format jsonl

Each size runs `sh.run` (engine, records to disk, metrics from columns) with the trivial
in-process agent of bench_engine.py in a fresh child process, and reads the child's peak
resident set size. The figures go to this script's section of benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path

from results_file import machine, write_section

HERE = Path(__file__).resolve().parent
TARGET_MB = 300.0
TARGET_TICKETS = 1_000_000

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {here!r})
import simharness as sh
from bench_engine import scenario, trivial_agent

tickets = {tickets}
start = time.perf_counter()
result = sh.run(scenario(tickets), agent=trivial_agent, max_tickets=2 * tickets)
wall = time.perf_counter() - start
print(json.dumps({{"peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "wall_s": wall, "tickets": result.metrics["tickets"]["total"],
                  "chunks": len(result.store.chunks), "format": result.store.format}}))
"""


def measure(tickets: int, fmt: str | None) -> dict[str, float]:
    """Peak RSS (MB), wall seconds, tickets and chunks of one run, in a fresh process."""
    code = CHILD.format(here=str(HERE), tickets=tickets)
    env = {**os.environ, "SIMHARNESS_RECORDS_FORMAT": fmt} if fmt else None
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env=env)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="one 20,000-ticket run")
    parser.add_argument("--tickets", type=int, action="append",
                        help="run this many tickets (repeatable)")
    parser.add_argument("--format", choices=["parquet", "jsonl"], default=None,
                        help="chunk format (default: parquet when pyarrow is installed)")
    parser.add_argument("--no-write", action="store_true",
                        help="print only; leave benchmarks/RESULTS.md alone")
    args = parser.parse_args()
    sizes = args.tickets or ([20_000] if args.quick else [100_000, TARGET_TICKETS])
    runs: list[tuple[int, str | None]] = [(tickets, args.format) for tickets in sizes]
    if not (args.quick or args.tickets or args.format):
        runs.append((TARGET_TICKETS, "jsonl"))  # the format used without pyarrow
    rows = []
    for tickets, fmt in runs:
        figure = measure(tickets, fmt)
        ok = "" if figure["tickets"] < TARGET_TICKETS else \
            (" ✔" if figure["peak_mb"] <= TARGET_MB else " ✘")
        print(f"{figure['tickets']:>10,} tickets: peak RSS {figure['peak_mb']:.0f} MB, "
              f"{figure['wall_s']:.0f} s wall, {figure['chunks']} {figure['format']} chunks"
              f"{ok}", flush=True)
        rows.append((figure, ok))
    if args.no_write or args.quick:
        return
    lines = [
        "## Memory of big runs",
        "",
        f"`python benchmarks/bench_scale.py` ({date.today().isoformat()}; {machine()}). "
        "A full `sh.run` (engine, records streamed to disk, metrics from columns) with a "
        "trivial in-process agent, each size in a fresh process; peak RSS is the child's "
        "`ru_maxrss`.",
        "",
        "| tickets | peak RSS | target | wall time | chunks on disk |",
        "|---|---|---|---|---|",
    ]
    for figure, ok in rows:
        target = f"≤ {TARGET_MB:.0f} MB{ok}" if ok else "—"
        lines.append(f"| {figure['tickets']:,} | {figure['peak_mb']:.0f} MB | {target} | "
                     f"{figure['wall_s']:.0f} s | {figure['chunks']} ({figure['format']}) |")
    write_section("bench_scale", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

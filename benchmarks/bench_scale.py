"""Peak memory of big runs: records stream to disk, so memory stays flat in tickets.

    python benchmarks/bench_scale.py            # 100,000 and 1,000,000 tickets (minutes);
                                                # 1,000,000 again in JSON lines chunks, and
                                                # `simharness run` of 1,000,000 end to end
    python benchmarks/bench_scale.py --quick    # 20,000 tickets, a smoke check
    python benchmarks/bench_scale.py --tickets 300000 --format jsonl

Each size runs `sh.run` (engine, records to disk, metrics from columns) with the trivial
in-process agent of bench_engine.py in a fresh child process, and reads the child's peak
resident set size. The command line is measured too: `simharness run` of the same
scenario as a subprocess (engine, then results.json, records.jsonl, five plots,
report.html and the console summary), its peak RSS read with `getrusage(RUSAGE_CHILDREN)`
by a fresh parent made for that one command. The figures go to this script's section of
benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
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


#: A parent that runs one command and reports its peak RSS (and nothing else's).
COMMAND = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
done = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                      text=True)
print(json.dumps({"peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024,
                  "wall_s": time.perf_counter() - start, "code": done.returncode,
                  "stderr": done.stderr[-2000:]}))
"""


def measure_command(tickets: int) -> dict[str, float]:
    """Peak RSS (MB) and wall seconds of `simharness run` on the scenario of `tickets`
    tickets, from the command line; the tickets counted from its results.json."""
    import yaml
    from bench_engine import scenario  # next to this script

    data = scenario(tickets)
    data["agent"]["ref"] = "bench_engine:trivial_agent"  # the same agent, by name
    with tempfile.TemporaryDirectory(prefix="bench-scale-") as tmp:
        path, out = Path(tmp) / "scenario.yaml", Path(tmp) / "run"
        path.write_text(yaml.safe_dump(data), encoding="utf-8")
        command = [sys.executable, "-m", "simharness.cli", "run", str(path), "--out", str(out),
                   "--quiet", "--no-history", "--max-tickets", str(2 * tickets)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(
            [str(HERE), *filter(None, [os.environ.get("PYTHONPATH")])])}
        done = subprocess.run([sys.executable, "-c", COMMAND, *command], capture_output=True,
                              text=True, check=True, env=env)
        figure = json.loads(done.stdout.strip().splitlines()[-1])
        if figure["code"] not in (0, 1):
            raise SystemExit(f"simharness run failed ({figure['code']}): {figure['stderr']}")
        results = json.loads((out / "results.json").read_text(encoding="utf-8"))
        written = sorted(p.name for p in out.iterdir())
    figure["tickets"] = results["metrics"]["tickets"]["total"]
    figure["files"] = len(written)
    return figure


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
    command_tickets = 20_000 if args.quick else TARGET_TICKETS
    command = measure_command(command_tickets)
    command_ok = "" if command["tickets"] < TARGET_TICKETS else \
        (" ✔" if command["peak_mb"] <= TARGET_MB else " ✘")
    print(f"{command['tickets']:>10,} tickets, `simharness run`: peak RSS "
          f"{command['peak_mb']:.0f} MB, {command['wall_s']:.0f} s wall, "
          f"{command['files']} files written{command_ok}", flush=True)
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
    target = f"≤ {TARGET_MB:.0f} MB{command_ok}" if command_ok else "—"
    lines += [
        "",
        "`simharness run` of the 1,000,000-ticket scenario from the command line, end to "
        "end: the run, then results.json and records.jsonl, the five plots, report.html and "
        "the console summary (the report reads the records as a stream: a few numbers per "
        "ticket and the few hundred records its tables list). Peak RSS is the command's, "
        "read with `getrusage(RUSAGE_CHILDREN)` by a parent made for it.",
        "",
        "| tickets | command | peak RSS | target | wall time |",
        "|---|---|---|---|---|",
        f"| {command['tickets']:,} | `simharness run` | {command['peak_mb']:.0f} MB | {target} "
        f"| {command['wall_s']:.0f} s |",
    ]
    write_section("bench_scale", "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()

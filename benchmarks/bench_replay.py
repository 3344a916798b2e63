"""Replay throughput and memory: how fast tickets come out of a CSV, and that memory does
not grow with the file. A full run writes its section of benchmarks/RESULTS.md.

    python benchmarks/bench_replay.py            # 100,000 and 1,000,000 rows (a few minutes)
    python benchmarks/bench_replay.py --quick    # 10,000 and 100,000 rows; writes nothing
    python benchmarks/bench_replay.py --quick --output /tmp/results.md

For each file size, in child processes (so peaks do not mix): rows per second of wall time
from the replay source alone (read, parse, map, make tickets; `timing: original`, a file
in time order) and the peak RSS of the process, then, in a run of its own under
tracemalloc (which slows Python down, so it is not timed), the peak traced Python memory
while streaming it. Then tickets per second of a full `sh.run` of the smaller file through
a trivial agent, for the end-to-end figure. The CSV is generated under a temporary
directory.
"""

from __future__ import annotations

import argparse
import datetime
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from results_file import RESULTS, machine, write_section

#: Memory is flat when the traced peak grows by less than this from the smaller file to
#: the one ten times its size.
FLAT_MB = 5.0
ROUTES = ["billing", "technical", "account", "shipping", "refund", "cancellation"]
TEXT = ("Hello, I was charged twice for invoice {i} and the app crashes when I open it; "
        "please sort out my {route} issue as soon as you can.")


def write_csv(path: Path, rows: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write("id,created_at,customer,queue,body\n")
        for i in range(rows):
            route = ROUTES[i % len(ROUTES)]
            fh.write(f'{i},{1_760_000_000 + i * 0.5:.1f},c{i % 5000},{route},'
                     f'"{TEXT.format(i=i, route=route)}"\n')


def scenario(path: Path, rows: int) -> dict:
    return {"name": "bench-replay", "seed": 1, "duration": rows * 0.5 + 10,
            "agent": {"workers": 64},
            "traffic": [{"replay": {"path": str(path), "columns": {
                "text": "body", "route": "queue", "timestamp": "created_at",
                "customer": "customer"}}}]}


def measure_source(path: Path, rows: int, traced: bool = True) -> dict:
    """In this (child) process: stream the file through the replay source (with
    tracemalloc for the memory figure, which slows Python down; without it for speed)."""
    import tracemalloc

    from simharness.scenario import scenario_from_dict
    from simharness.traffic.sources import build_traffic

    loaded = scenario_from_dict(scenario(path, rows))
    if traced:
        tracemalloc.start()
    started = time.perf_counter()
    traffic = build_traffic(loaded, 1)
    surveyed = time.perf_counter()
    count = sum(1 for _ in traffic.sources[0].tickets())
    done = time.perf_counter()
    _, peak = tracemalloc.get_traced_memory() if traced else (0, 0)
    tracemalloc.stop()
    assert count == rows, (count, rows)
    return {"rows": rows, "survey_s": surveyed - started, "replay_s": done - surveyed,
            "rows_per_s": rows / (done - started), "traced_peak_mb": peak / 2**20,
            "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}


def measure_run(path: Path, rows: int) -> dict:
    import simharness as sh

    started = time.perf_counter()
    result = sh.run(scenario(path, rows), agent=lambda payload: "billing")
    wall = time.perf_counter() - started
    return {"rows": rows, "tickets": result.metrics["tickets"]["total"], "wall_s": wall,
            "tickets_per_s": result.metrics["tickets"]["total"] / wall}


def child(kind: str, path: Path, rows: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", kind, str(path), str(rows)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def render(sources: list[tuple[dict, dict, float]], run: dict, *, quick: bool,
           started: str, seconds: float, host: str) -> str:
    """The RESULTS.md section: figures, the flat-memory target and its verdict."""
    command = "python benchmarks/bench_replay.py" + (" --quick" if quick else "")
    (small, small_mem, _), (large, large_mem, _) = sources
    growth = large_mem["traced_peak_mb"] - small_mem["traced_peak_mb"]
    flat = abs(growth) < FLAT_MB
    verdict = "not judged (quick run)" if quick else "✔ met" if flat else "✘ missed"
    lines = ["## Historical replay", "",
             f"Written by `{command}` on {started} in {seconds:.0f} s; do not edit by hand, "
             "run the command again.", "", f"Machine: {host}.", "",
             "| measurement | figure | target | verdict | note |", "|---|---|---|---|---|"]
    for figures, _memory, size_mb in sources:
        lines.append(
            f"| replay source, {figures['rows']:,} rows ({size_mb:,.0f} MB CSV) | "
            f"{figures['rows_per_s']:,.0f} rows/s | — |  | survey {figures['survey_s']:.1f} s "
            f"+ replay {figures['replay_s']:.1f} s of wall time; peak RSS "
            f"{figures['rss_mb']:,.0f} MB |")
    lines += [
        f"| growth of the traced peak memory from {small['rows']:,} to {large['rows']:,} "
        f"rows | {growth:+.1f} MB | < {FLAT_MB:g} MB (flat) | {verdict} | traced peak "
        f"{small_mem['traced_peak_mb']:.1f} MB vs {large_mem['traced_peak_mb']:.1f} MB |",
        f"| `sh.run` of {run['rows']:,} replayed rows, trivial agent, metrics included | "
        f"{run['tickets_per_s']:,.0f} tickets/s | — |  | {run['wall_s']:.1f} s of wall time |",
        "", "Rows per second are of wall time, the source alone (read, parse, map, make "
        "tickets), without tracemalloc; the memory figure comes from a traced run of its "
        "own.", ""]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="smaller files, to check the script works (writes no file unless "
                             "--output is given)")
    parser.add_argument("--output", type=Path,
                        help=f"the results file to write (default: {RESULTS} for a full run)")
    parser.add_argument("--child", nargs=3, metavar=("KIND", "PATH", "ROWS"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, path, rows = args.child
        if kind == "run":
            print(json.dumps(measure_run(Path(path), int(rows))))
        else:
            print(json.dumps(measure_source(Path(path), int(rows), traced=kind == "memory")))
        return
    sizes = (10_000, 100_000) if args.quick else (100_000, 1_000_000)
    output = args.output or (None if args.quick else RESULTS)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    host = machine()
    clock = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        sources = []
        for rows in sizes:
            path = Path(tmp) / f"tickets-{rows}.csv"
            write_csv(path, rows)
            size_mb = path.stat().st_size / 2**20
            figures = child("source", path, rows)
            memory = child("memory", path, rows)
            sources.append((figures, memory, size_mb))
            print(f"replay source, {rows:>9,} rows ({size_mb:,.0f} MB CSV): "
                  f"{figures['rows_per_s']:>9,.0f} rows/s "
                  f"(survey {figures['survey_s']:.1f} s + replay {figures['replay_s']:.1f} s), "
                  f"RSS {figures['rss_mb']:.0f} MB; traced peak "
                  f"{memory['traced_peak_mb']:.1f} MB", file=sys.stderr, flush=True)
        run = child("run", Path(tmp) / f"tickets-{sizes[0]}.csv", sizes[0])
    text = render(sources, run, quick=args.quick, started=started,
                  seconds=time.perf_counter() - clock, host=host)
    print(text)
    if output is not None:
        write_section("replay", text, output)
        print(f"wrote {output}")


if __name__ == "__main__":
    main()

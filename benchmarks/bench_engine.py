"""Engine throughput and memory, in one run.

    python benchmarks/bench_engine.py            # full figures (about a minute)
    python benchmarks/bench_engine.py --quick    # smaller runs, for a smoke check

Prints tickets per second of wall time for:
  - the bare SimPy loop: Poisson arrivals, a process per ticket, a Resource of workers;
  - the harness with a trivial in-process agent (returns a label);
  - the harness with an httpx agent (one LLM call per ticket through ctx.http);
  - a bare httpx.Client.post against a MockTransport (the client library's own floor);
plus ratios, peak memory of a 100,000-ticket run (in a child process), and the wall time
of an hour-long outage met by 60 s backoffs against the same hour with no fault.

Then, for each agent in `examples/frameworks/` whose framework is installed, the wall time
one simulated hour of the shipped baseline (2 tickets/s) costs, measured on a few
simulated minutes and scaled, next to the same logic on the plain openai SDK
(`--frameworks-minutes`, `--skip-frameworks`).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import resource
import subprocess
import sys
import time
import timeit
from pathlib import Path

import httpx
import numpy as np
import simpy

import simharness as sh
from simharness.scenario import scenario_from_dict

REPO = Path(__file__).resolve().parent.parent
RATE = 8.0
WORKERS = 64
TARGETS = {"trivial_tps": 30_000, "trivial_ratio": 8.0, "httpx_tps": 4_000, "peak_mb": 500}


def scenario(tickets: int, **extra: object) -> dict:
    data = {
        "name": "bench", "seed": 1, "duration": tickets / RATE,
        "agent": {"workers": WORKERS},
        "traffic": [{"synthetic": {"rate": RATE, "routes": ["billing", "technical", "account"]}}],
    }
    data.update(extra)
    return data


def bare_simpy(tickets: int) -> float:
    """Tickets/s of the plainest SimPy model of the same queue."""
    env = simpy.Environment()
    workers = simpy.Resource(env, WORKERS)
    gaps = np.random.default_rng(1).exponential(1 / RATE, tickets).tolist()

    def ticket(env: simpy.Environment):
        with workers.request() as req:
            yield req

    def arrivals(env: simpy.Environment):
        for gap in gaps:
            yield env.timeout(gap)
            env.process(ticket(env))

    env.process(arrivals(env))
    start = time.perf_counter()
    env.run()
    return tickets / (time.perf_counter() - start)


def trivial_agent(payload: dict) -> str:
    return "billing"


def httpx_agent(payload: dict, ctx: sh.AgentContext) -> str:
    text = payload["messages"][0]["text"]
    reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
        "model": "small", "messages": [{"role": "user", "content": text}]})
    return json.loads(reply.json()["choices"][0]["message"]["content"])["route"]


def harness(tickets: int, agent: object, **extra: object) -> tuple[float, float, int]:
    """(tickets/s, wall seconds, agent calls) of the engine alone (no metrics), best of two."""
    best = float("inf")
    loaded = scenario_from_dict(scenario(tickets, **extra))
    from simharness.engine import run_engine

    for _ in range(2):
        out = run_engine(loaded, agent=agent)
        best = min(best, out.wall_seconds)
    return len(out.records) / best, best, sum(r.calls for r in out.records)


def httpx_floor(n: int = 3000) -> float:
    body = json.dumps({"choices": [{"message": {"content": '{"route": "billing"}'}}]}).encode()
    headers = [("content-type", "application/json")]
    client = httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(200, content=body, headers=headers)))

    def call() -> None:
        client.post("http://llm.sim/v1/chat/completions",
                    json={"model": "small", "messages": [{"role": "user", "content": "hi"}]}).json()

    return n / timeit.timeit(call, number=n)


def peak_memory_mb(tickets: int) -> tuple[float, float]:
    """Peak RSS (MB) and wall seconds of a full sh.run of `tickets` tickets, in a child."""
    here = str(Path(__file__).parent)
    code = (
        f"import json, sys, time, resource; sys.path.insert(0, {here!r})\n"
        "import simharness as sh\n"
        "from bench_engine import scenario, trivial_agent\n"
        f"t = time.perf_counter(); r = sh.run(scenario({tickets}), agent=trivial_agent)\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,"
        " time.perf_counter() - t, r.metrics['tickets']['total']]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak, wall, total = json.loads(out.stdout.strip().splitlines()[-1])
    return peak, wall


def outage_vs_baseline(tickets: int) -> tuple[tuple[float, int], tuple[float, int]]:
    """(wall seconds, calls) of a run with an LLM outage covering it, met by exponential
    backoff up to 60 s for 10 minutes per ticket, and of the same run with no fault."""
    import tenacity

    @tenacity.retry(wait=tenacity.wait_exponential(multiplier=2, max=60),
                    stop=tenacity.stop_after_delay(600), reraise=True)
    def classify(payload: dict, ctx: sh.AgentContext) -> str:
        return httpx_agent(payload, ctx)

    def agent(payload: dict, ctx: sh.AgentContext) -> str:
        try:
            return classify(payload, ctx)
        except httpx.HTTPError:
            return "billing"

    outage = [{"name": "llm-down", "target": "llm", "kind": "outage", "at": 0,
               "duration": tickets / RATE}]
    _, base, base_calls = harness(tickets, agent)
    _, faulted, faulted_calls = harness(tickets, agent, faults=outage, drain="2h")
    return (base, base_calls), (faulted, faulted_calls)


#: (label, agent reference, module the framework needs), the plain SDK agent first.
FRAMEWORK_AGENTS = [
    ("plain openai SDK (reference)", "plain_chat:Router", "openai"),
    ("openai SDK, tools", "openai_tools:Router", "openai"),
    ("openai SDK, chat.completions.parse", "openai_parse:Router", "openai"),
    ("openai SDK, Responses API (async)", "openai_responses:Router", "openai"),
    ("openai SDK, streaming (sync)", "openai_streaming:Router", "openai"),
    ("openai SDK, streaming parse (async)", "openai_streaming:AsyncRouter", "openai"),
    ("instructor, TOOLS", "instructor_agent:Router", "instructor"),
    ("instructor, JSON", "instructor_agent:JsonRouter", "instructor"),
    ("pydantic-ai, run", "pydantic_ai_agent:Router", "pydantic_ai"),
    ("pydantic-ai, NativeOutput, run", "pydantic_ai_agent:NativeRouter", "pydantic_ai"),
    ("pydantic-ai, run_sync", "pydantic_ai_agent:SyncRouter", "pydantic_ai"),
    ("pydantic-ai, NativeOutput, run_sync", "pydantic_ai_agent:SyncNativeRouter", "pydantic_ai"),
    ("LangChain, json_schema", "langchain_agent:Router", "langchain_openai"),
    ("LangChain, function_calling", "langchain_agent:FunctionCallingRouter", "langchain_openai"),
    ("LangGraph, parallel sync branches", "langgraph_agent:Router", "langgraph"),
    ("openai-agents, Runner.run", "openai_agents_agent:Router", "agents"),
    ("openai-agents, Runner.run_sync", "openai_agents_agent:SyncRouter", "agents"),
    ("anthropic SDK, tools", "anthropic_tools:Router", "anthropic"),
]


FRAMEWORK_RUN = """
import json, sys, time
import yaml
sys.path.insert(0, {repo!r})
import simharness as sh
data = yaml.safe_load(open({scenario!r}))
data["duration"] = "{minutes}m"
data.pop("expect", None)
sh.run(dict(data, duration="10s"), agent={agent!r})  # warm-up: lazy imports, first calls
start = time.perf_counter()
result = sh.run(data, agent={agent!r})
wall = time.perf_counter() - start
m = result.metrics
print(json.dumps([wall, m["tickets"]["total"], m["tickets"]["failed"], m["routing"]["accuracy"]]))
"""


def framework_rows(minutes: float, timeout: float = 900) -> list[tuple[str, str, str]]:
    """Wall seconds per simulated hour of the baseline, per framework agent.

    Each agent runs in a child process (a clean import state), after a 10-second warm-up
    run that pays for imports and first calls, bounded by `timeout` wall seconds.
    """
    rows: list[tuple[str, str, str]] = []
    reference: float | None = None
    for label, ref, module in FRAMEWORK_AGENTS:
        if importlib.util.find_spec(module) is None:
            rows.append((label, "skipped", f"{module} is not installed"))
            continue
        code = FRAMEWORK_RUN.format(repo=str(REPO), minutes=minutes,
                                    scenario=str(REPO / "scenarios" / "baseline.yaml"),
                                    agent="examples.frameworks." + ref)
        try:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 timeout=timeout, cwd=REPO)
        except subprocess.TimeoutExpired:
            rows.append((label, "timed out", f"no result within {timeout:g} s of wall time"))
            continue
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or ["?"])[-1]
            rows.append((label, "failed", last[:120]))
            continue
        wall, total, failed, accuracy = json.loads(out.stdout.strip().splitlines()[-1])
        per_hour = wall * 3600 / (minutes * 60)
        reference = per_hour if reference is None else reference
        note = (f"{total} tickets, {failed} failed, accuracy {accuracy:.3f}; "
                f"{per_hour / reference:.1f}x the plain SDK agent")
        rows.append((label, f"{per_hour:,.0f} s / sim hour", note))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller runs")
    parser.add_argument("--frameworks-minutes", type=float, default=None,
                        help="simulated minutes per framework agent (default 3, 1 with --quick)")
    parser.add_argument("--skip-frameworks", action="store_true",
                        help="leave out the framework agents")
    args = parser.parse_args()
    n = 20_000 if args.quick else 100_000
    n_http = 5_000 if args.quick else 20_000

    bare = bare_simpy(n)
    trivial, _, _ = harness(n, trivial_agent)
    http, _, _ = harness(n_http, httpx_agent)
    floor = httpx_floor()
    peak, peak_wall = peak_memory_mb(100_000 if not args.quick else 20_000)
    (base, base_calls), (faulted, faulted_calls) = outage_vs_baseline(
        2_000 if args.quick else 8_000)

    rows = [
        ("bare SimPy loop", f"{bare:,.0f} tickets/s", ""),
        ("harness, trivial agent", f"{trivial:,.0f} tickets/s",
         f"target >= {TARGETS['trivial_tps']:,}; bare/harness = {bare / trivial:.1f}x "
         f"(target <= {TARGETS['trivial_ratio']:g}x)"),
        ("harness, httpx agent", f"{http:,.0f} tickets/s",
         f"target >= {TARGETS['httpx_tps']:,}; trivial/httpx = {trivial / http:.1f}x"),
        ("bare httpx.Client.post (MockTransport)", f"{floor:,.0f} requests/s",
         "the client library's own ceiling on this machine"),
        (f"peak memory, {100_000 if not args.quick else 20_000:,}-ticket run",
         f"{peak:,.0f} MB", f"target < {TARGETS['peak_mb']} MB; wall {peak_wall:.1f} s"),
        ("outage + 60 s backoffs vs no fault", f"{faulted:.2f} s vs {base:.2f} s",
         f"{faulted_calls:,} vs {base_calls:,} calls: {faulted / faulted_calls * 1e6:.0f} vs "
         f"{base / base_calls * 1e6:.0f} us of wall time per call"),
    ]
    width = max(len(r[0]) for r in rows)
    own_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(f"simharness {sh.__version__}, python {sys.version.split()[0]}, "
          f"max RSS of this process {own_rss} MB")
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>22}  {note}")
    if args.skip_frameworks:
        return
    minutes = args.frameworks_minutes or (1.0 if args.quick else 3.0)
    print(f"\nframework agents: wall time per simulated hour of the baseline "
          f"(measured on {minutes:g} simulated minutes, sh.run with metrics)")
    framework = framework_rows(minutes)
    width = max(len(r[0]) for r in framework)
    for name, value, note in framework:
        print(f"{name:<{width}}  {value:>22}  {note}")


if __name__ == "__main__":
    main()

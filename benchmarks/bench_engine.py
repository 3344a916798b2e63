"""Engine throughput and memory, and the cost of the framework agents, in one run, written
to benchmarks/RESULTS.md.

    python benchmarks/bench_engine.py                    # full figures -> RESULTS.md
    python benchmarks/bench_engine.py --skip-frameworks  # the engine section only
    python benchmarks/bench_engine.py --quick            # small runs, a smoke check; writes nothing
    python benchmarks/bench_engine.py --quick --output /tmp/results.md

Measures tickets per CPU second for:
  - the bare SimPy loop: Poisson arrivals, a process per ticket, a Resource of workers;
  - the harness with a trivial in-process agent (returns a label);
  - the harness with an httpx agent (one LLM call per ticket through ctx.http);
  - a bare httpx.Client.post against a MockTransport (the client library's own floor);
plus ratios; a simulated hour of scenarios/baseline.yaml with the reference ResilientRouter,
and the same hour's agent work alone (its events and the world's answers replayed with no
simulation, see agent_floor.py), which leaves the harness's own share; peak memory of a
100,000-ticket run (in a child process), and the cost of an hour-long outage met by 60 s
backoffs against the same hour with no fault. Each figure is judged against its target;
the section records figures, targets, verdicts and the machine, so nobody types results
by hand.

Then, for each agent in `examples/frameworks/` whose framework is installed, the wall time
one simulated hour of the shipped baseline (2 tickets/s) costs, measured on a few
simulated minutes and scaled, next to the same logic on the plain openai SDK
(`--frameworks-minutes`, `--skip-frameworks`); a quick run measures only the plain SDK
agent. The two tables are sections `engine` and `frameworks` of RESULTS.md (see
results_file.py): other scripts' sections stay as they are, and a run that skips the
frameworks keeps the frameworks section it finds.
"""

from __future__ import annotations

import argparse
import datetime
import gc
import importlib.util
import json
import os
import subprocess
import sys
import time
import timeit
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import simpy
from agent_floor import Capture, Replay, capture, replay
from results_file import RESULTS, machine, write_section

import simharness as sh
from simharness.scenario import Scenario, scenario_from_dict

REPO = Path(__file__).resolve().parent.parent
RATE = 8.0
WORKERS = 64
TARGETS = {"trivial_tps": 30_000, "trivial_ratio": 8.0, "httpx_tps": 4_000, "peak_mb": 500,
           "fault_cost_ratio": 1.5, "httpx_floor_ratio": 1.5, "baseline_hour_s": 2.0}
#: Where the hot-path targets were set, the bare httpx floor took this long per request:
#: the simulated-hour figure is also given in units of it, which travel between machines.
TARGET_FLOOR_US = 1e6 / 10_980


@dataclass(frozen=True)
class Sizes:
    """Tickets per measurement: the full run, or a quick smoke check of the same code."""

    trivial: int
    httpx: int
    floor: int
    memory: int
    outage: int
    baseline_minutes: float
    frameworks_minutes: float


FULL = Sizes(trivial=100_000, httpx=20_000, floor=3_000, memory=100_000, outage=8_000,
             baseline_minutes=60, frameworks_minutes=3.0)
QUICK = Sizes(trivial=3_000, httpx=500, floor=300, memory=2_000, outage=200,
              baseline_minutes=2, frameworks_minutes=0.25)


@dataclass(frozen=True)
class Figure:
    """One line of a results table. `passed` is None where there is no target."""

    measurement: str
    figure: str
    target: str = "—"
    passed: bool | None = None
    note: str = ""

    def verdict(self, quick: bool) -> str:
        if self.passed is None:
            return ""
        return "not judged (quick run)" if quick else "✔ met" if self.passed else "✘ missed"

    def row(self, quick: bool) -> str:
        return (f"| {self.measurement} | {self.figure} | {self.target} | "
                f"{self.verdict(quick)} | {self.note} |")


def scenario(tickets: int, **extra: object) -> dict:
    data = {
        "name": "bench", "seed": 1, "duration": tickets / RATE,
        "agent": {"workers": WORKERS},
        "traffic": [{"synthetic": {"rate": RATE, "routes": ["billing", "technical", "account"]}}],
    }
    data.update(extra)
    return data


def bare_simpy(tickets: int) -> float:
    """Tickets per CPU second of the plainest SimPy model of the same queue."""
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
    start = time.process_time()
    env.run()
    return tickets / (time.process_time() - start)


def trivial_agent(payload: dict) -> str:
    return "billing"


def httpx_agent(payload: dict, ctx: sh.AgentContext) -> str:
    text = payload["messages"][0]["text"]
    reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
        "model": "small", "messages": [{"role": "user", "content": text}]})
    return json.loads(reply.json()["choices"][0]["message"]["content"])["route"]


def cold_start() -> None:
    """Before a timed run: collect the garbage earlier runs left (a run's heap is frozen
    while it goes on and handed back at its end, so the next collection would land in
    whatever is measured next), and forget the customer bases built so far, so that each
    run pays the one-off set-up a fresh `simharness run` pays."""
    from simharness.traffic.synthetic import _customer_base

    _customer_base.cache_clear()
    gc.collect()


def harness(tickets: int, agent: object, **extra: object) -> tuple[float, float, int]:
    """(tickets/s, CPU seconds, agent calls) of the engine alone (no metrics), best of two."""
    best = float("inf")
    loaded = scenario_from_dict(scenario(tickets, **extra))
    from simharness.engine import run_engine

    for _ in range(2):
        cold_start()
        start = time.process_time()
        out = run_engine(loaded, agent=agent)
        best = min(best, time.process_time() - start)
    return len(out.records) / best, best, sum(r.calls for r in out.records)


def _posts_per_second(client: httpx.Client, n: int, repeats: int = 5) -> float:
    """Requests per CPU second of the httpx agent's own request on `client`: best of
    `repeats` rounds of `n`, each after a collection (the figure the harness is judged
    against must not be a noisy one)."""
    def call() -> None:
        reply = client.post("http://llm.sim/v1/chat/completions", json={
            "model": "small", "messages": [{"role": "user", "content": "hi"}]})
        json.loads(reply.json()["choices"][0]["message"]["content"])

    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        best = min(best, timeit.Timer(call, timer=time.process_time).timeit(number=n))
    return n / best


def httpx_floor(n: int = 3000) -> float:
    """Requests per CPU second of a bare httpx.Client.post against a MockTransport."""
    body = json.dumps({"choices": [{"message": {"content": '{"route": "billing"}'}}]}).encode()
    headers = [("content-type", "application/json")]
    client = httpx.Client(transport=httpx.MockTransport(
        lambda r: httpx.Response(200, content=body, headers=headers)))
    return _posts_per_second(client, n)


def world_answer() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers and body of the simulated chat API's answer to the httpx
    agent's request, as a run gives it."""
    from simharness.engine import run_engine

    seen: list[httpx.Response] = []

    def agent(payload: dict, ctx: sh.AgentContext) -> str:
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
            "model": "small", "messages": [{"role": "user", "content": "hi"}]})
        seen.append(reply)
        return "billing"

    run_engine(scenario_from_dict(scenario(2)), agent=agent)
    return seen[0].status_code, list(seen[0].headers.raw), seen[0].content


def httpx_with_world_answer(n: int = 3000) -> float:
    """Requests per CPU second of the same bare client answered with the simulated API's
    own answer (its body and headers, a stream read as from a network transport, as the
    harness's transport delivers it): the client's part of a harness ticket."""
    status, headers, body = world_answer()

    class Answer(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            request.read()
            return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body),
                                  request=request)

    return _posts_per_second(httpx.Client(transport=Answer()), n)


def peak_memory_mb(tickets: int) -> tuple[float, float]:
    """Peak RSS (MB) and CPU seconds of a full sh.run of `tickets` tickets, in a child."""
    here = str(Path(__file__).parent)
    code = (
        f"import json, sys, time, resource; sys.path.insert(0, {here!r})\n"
        "import simharness as sh\n"
        "from bench_engine import scenario, trivial_agent\n"
        f"t = time.process_time(); r = sh.run(scenario({tickets}), agent=trivial_agent)\n"
        "print(json.dumps([resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,"
        " time.process_time() - t, r.metrics['tickets']['total']]))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    peak, cpu, _total = json.loads(out.stdout.strip().splitlines()[-1])
    return peak, cpu


def outage_vs_baseline(tickets: int) -> tuple[tuple[float, int], tuple[float, int]]:
    """(CPU seconds, calls) of a run with an LLM outage covering it, met by exponential
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


def baseline(minutes: float) -> Scenario:
    """scenarios/baseline.yaml cut to `minutes` simulated minutes, without its checks."""
    import yaml

    data = yaml.safe_load((REPO / "scenarios" / "baseline.yaml").read_text(encoding="utf-8"))
    data.pop("expect", None)
    data["duration"] = f"{minutes:g}m"
    return scenario_from_dict(data)


def baseline_hour(minutes: float) -> tuple[float, float, int, int]:
    """(CPU seconds, wall seconds, tickets, HTTP calls) of `minutes` simulated minutes of
    scenarios/baseline.yaml with its agent, the reference ResilientRouter: the engine
    alone, best of two runs by CPU time."""
    from simharness.engine import run_engine

    loaded = baseline(minutes)
    best = (float("inf"), 0.0, 0, 0)
    for _ in range(2):
        cold_start()
        wall, cpu = time.perf_counter(), time.process_time()
        out = run_engine(loaded)
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        if cpu < best[0]:
            best = (cpu, wall, len(out.records), sum(r.calls for r in out.records))
    return best


def agent_floor(minutes: float) -> tuple[Capture, Replay]:
    """The baseline's agent alone on the same `minutes`: a capture run of the scenario
    keeps each event's payload and the world's answers, then a fresh ResilientRouter
    handles those events in start order against them, with no simulation (agent_floor.py).
    What the hour costs beyond this is the harness's share."""
    from simharness.agents.reference import ResilientRouter

    loaded = baseline(minutes)
    if loaded.agent.ref != "simharness.agents.reference:ResilientRouter":
        raise ValueError(f"scenarios/baseline.yaml runs {loaded.agent.ref}, not the "
                         "reference ResilientRouter this measurement replays")
    params = dict(loaded.agent.params or {})
    done = capture(loaded, ResilientRouter(**params))
    return done, replay(done, lambda: ResilientRouter(**params))


def hour_figures(minutes: float, floor_us: float) -> list[Figure]:
    """The simulated hour of the baseline against its target, then the same hour's agent
    work alone and what is left for the harness (no targets: they explain the hour's)."""
    hour_cpu, hour_wall, hour_tickets, hour_calls = baseline_hour(minutes)
    done, alone = agent_floor(minutes)
    scale = 60 / minutes
    per_hour, alone_hour = hour_cpu * scale, alone.cpu * scale
    limit = TARGETS["baseline_hour_s"]
    events = len(done.events)
    unmade = done.captured_calls - (alone.calls - alone.off_script)
    return [
        Figure(f"`scenarios/baseline.yaml` with the reference ResilientRouter: CPU seconds "
               f"per simulated hour, measured on {minutes:g} simulated minutes",
               f"{per_hour:.2f} s", f"≤ {limit:g} s", per_hour <= limit,
               f"{hour_tickets:,} tickets, {hour_calls:,} HTTP calls, {hour_wall:.2f} s of "
               f"wall time; {per_hour * 1e6 / floor_us:,.0f} bare requests' time (the target "
               f"is {limit * 1e6 / TARGET_FLOOR_US:,.0f} of them on the machine where it "
               "was set)"),
        Figure("the same hour's agent work alone (ResilientRouter on the captured tickets "
               "and responses, `MockTransport`, no simulation)", f"{alone_hour:.2f} s",
               note=f"{events:,} events of {done.tickets:,} tickets in start order; "
                    f"{alone.calls:,} calls made vs {done.captured_calls:,} captured "
                    f"({alone.off_script:,} answered off-script, {unmade:,} captured but "
                    f"not made); same route and escalation for {alone.same_decisions:,} "
                    f"of {events:,} events; {alone_hour * 1e6 / floor_us:,.0f} bare "
                    "requests' time"),
        Figure("the harness's own share of that hour (hour − agent work alone)",
               f"{per_hour - alone_hour:.2f} s",
               note=f"{(hour_cpu - alone.cpu) * 1e6 / hour_tickets:,.0f} µs per ticket; "
                    f"(hour − agent) / agent = {(hour_cpu - alone.cpu) / alone.cpu:.2f}×; "
                    f"the agent alone is {alone.cpu / hour_cpu:.0%} of the hour"),
    ]


def engine_figures(sizes: Sizes) -> list[Figure]:
    """Throughput of the bare loop, the harness with two agents, httpx's own floor, and
    the hot-path targets: the httpx agent against that floor, a simulated hour of the
    baseline with the reference agent."""
    bare = bare_simpy(sizes.trivial)
    trivial, _, _ = harness(sizes.trivial, trivial_agent)
    http, _, _ = harness(sizes.httpx, httpx_agent)
    floor = httpx_floor(sizes.floor)
    client_us = 1e6 / httpx_with_world_answer(sizes.floor)
    floor_us = 1e6 / floor
    ticket_us = 1e6 / http
    ratio_limit = TARGETS["httpx_floor_ratio"]
    return [
        Figure("bare SimPy loop (Poisson arrivals, a process and a Resource request per "
               "ticket)", f"{bare:,.0f} tickets/s"),
        Figure(f"harness, trivial in-process agent (returns a label), {sizes.trivial:,} "
               "tickets", f"{trivial:,.0f} tickets/s", f"≥ {TARGETS['trivial_tps']:,}",
               trivial >= TARGETS["trivial_tps"]),
        Figure("bare loop / harness", f"{bare / trivial:.1f}×",
               f"≤ {TARGETS['trivial_ratio']:g}×", bare / trivial <= TARGETS["trivial_ratio"]),
        Figure(f"harness, httpx agent (one LLM call per ticket through `ctx.http`), "
               f"{sizes.httpx:,} tickets", f"{http:,.0f} tickets/s",
               f"≥ {TARGETS['httpx_tps']:,}", http >= TARGETS["httpx_tps"],
               f"trivial / httpx = {trivial / http:.1f}×"),
        Figure("bare `httpx.Client.post` against a `MockTransport` (no simulation at all)",
               f"{floor:,.0f} requests/s", note=f"{floor_us:.0f} µs per request: the "
               "client library's own ceiling on this machine"),
        Figure("bare `httpx.Client.post` / harness with the one-call httpx agent, measured "
               "in this run", f"{floor / http:.2f}×", f"≤ {ratio_limit:g}×",
               floor / http <= ratio_limit,
               f"{ticket_us:.0f} µs per ticket vs {floor_us:.0f} µs per bare request"),
        Figure("the same bare client answered with the simulated API's own answer (its "
               "body and rate-limit headers, read as a stream as from a network transport)",
               f"{client_us:.0f} µs per request",
               note=f"{client_us / floor_us:.2f}× the bare request: the client's part of "
                    f"a harness ticket; the harness's own part is the rest, "
                    f"{ticket_us - client_us:.0f} µs per ticket"),
        *hour_figures(sizes.baseline_minutes, floor_us),
    ]


def memory_figures(sizes: Sizes) -> list[Figure]:
    peak, cpu = peak_memory_mb(sizes.memory)
    return [Figure(f"peak RSS of a full `sh.run` of {sizes.memory:,} tickets (metrics "
                   "included)", f"{peak:,.0f} MB", f"< {TARGETS['peak_mb']} MB",
                   peak < TARGETS["peak_mb"], f"{cpu:.1f} s of CPU")]


def fault_figures(sizes: Sizes) -> list[Figure]:
    (base, base_calls), (faulted, faulted_calls) = outage_vs_baseline(sizes.outage)
    per_call, base_per_call = faulted / faulted_calls * 1e6, base / base_calls * 1e6
    limit = TARGETS["fault_cost_ratio"]
    return [Figure("an outage over the whole run met by exponential backoff up to 60 s, vs "
                   "no fault: CPU time per agent call",
                   f"{per_call:.0f} vs {base_per_call:.0f} µs",
                   f"≤ {limit:g}× (faults cost nothing)", per_call <= limit * base_per_call,
                   f"{faulted_calls:,} vs {base_calls:,} calls, {faulted:.2f} vs "
                   f"{base:.2f} s")]


#: Each part of the engine section measures and returns its lines of the table, in order.
ENGINE_PARTS: list[Callable[[Sizes], list[Figure]]] = [engine_figures, memory_figures,
                                                       fault_figures]


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
wall, cpu = time.perf_counter(), time.process_time()
result = sh.run(data, agent={agent!r})
wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
m = result.metrics
print(json.dumps([cpu, wall, m["tickets"]["total"], m["tickets"]["failed"],
                  m["routing"]["accuracy"]]))
"""


def framework_figures(minutes: float, agents: list[tuple[str, str, str]],
                      timeout: float = 900) -> list[Figure]:
    """CPU seconds per simulated hour of the baseline, per framework agent.

    Each agent runs in a child process (a clean import state), after a 10-second warm-up
    run that pays for imports and first calls, bounded by `timeout` wall seconds.
    """
    figures: list[Figure] = []
    reference: float | None = None
    for label, ref, module in agents:
        if importlib.util.find_spec(module) is None:
            figures.append(Figure(label, "skipped", note=f"{module} is not installed"))
            continue
        code = FRAMEWORK_RUN.format(repo=str(REPO), minutes=minutes,
                                    scenario=str(REPO / "scenarios" / "baseline.yaml"),
                                    agent="examples.frameworks." + ref)
        try:
            out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                 timeout=timeout, cwd=REPO)
        except subprocess.TimeoutExpired:
            figures.append(Figure(label, "timed out",
                                  note=f"no result within {timeout:g} s of wall time"))
            continue
        if out.returncode != 0:
            last = (out.stderr.strip().splitlines() or ["?"])[-1]
            figures.append(Figure(label, "failed", note=last[:120].replace("|", "/")))
            continue
        cpu, wall, total, failed, accuracy = json.loads(out.stdout.strip().splitlines()[-1])
        per_hour = cpu * 3600 / (minutes * 60)
        reference = per_hour if reference is None else reference
        figures.append(Figure(
            label, f"{per_hour:,.0f} s / sim hour",
            note=f"{per_hour / reference:.1f}× the plain SDK agent; {total} tickets, "
                 f"{failed} failed, accuracy {accuracy:.3f}; {wall:.1f} s of wall time for "
                 f"{minutes:g} simulated minutes"))
    return figures


def libraries() -> str:
    return (f"Libraries: simharness {sh.__version__}, SimPy {simpy.__version__}, httpx "
            f"{httpx.__version__}, numpy {np.__version__}")


def load_now() -> str:
    return ", ".join(f"{x:.1f}" for x in os.getloadavg())


ENGINE_NOTES = """Notes:
- Throughput is tickets per second of the process's CPU time (the same as wall time on an
  idle machine, and the figure that depends least on what else runs on a busy one), the
  best of two runs, the engine alone (metrics and reports excluded), each run after a
  garbage collection and with the run's one-off set-up (the synthetic customer base, which
  a process otherwise builds once per seed) included. The bare client's figures are the
  best of five rounds. Figures still move by ±20 % between runs on one machine, more when
  other work competes for the caches (see the load averages above).
- The httpx agent pays for httpx itself: building the request, merging cookies, running
  the transport and building the response (the `MockTransport` line, with no simulation at
  all), and the agent parses the completion's JSON. The simulated API answers as the real
  one does (a 344-byte completion, a content type and three rate-limit headers, a body the
  client reads as a stream): the line after the ratio is the same bare client given that
  answer, the client's own part of a harness ticket.
- The two hot-path targets compare the harness with the agent's real client: the
  one-call httpx agent against the bare `httpx.Client.post` floor of the same run, and a
  simulated hour of the baseline with ResilientRouter (about 1.9 HTTP calls per ticket,
  with tenacity and a circuit breaker). Its note gives the hour in units of the bare
  request, which carries across machines. See "Hot path profiles" below for where the
  time goes.
- The two lines after the hour split it: a capture run of the same minutes keeps each
  event's payload and the simulated world's answers (status, headers, body), then a
  fresh ResilientRouter handles those events one after another, in start order, through
  an `httpx.Client` on a `MockTransport` serving the captured answers, with a
  `make_context` context and `time.monotonic`/`time.sleep` on a clock that follows the
  run's (benchmarks/agent_floor.py). That is the agent's own work, which no harness can
  remove; the rest of the hour is the harness's. Handled one at a time, an event may find
  other cache state than it did among 16 concurrent ones: a call the capture did not see
  is answered with the last captured answer of the same kind ("off-script").
- "Faults cost nothing": the faulted run makes more calls (the agent's retries), each
  costing about the same time as in the fault-free run; the backoff waits themselves (an
  hour of simulated sleeping) cost nothing.
"""

FRAMEWORK_NOTES = """Each agent runs in a child process after a 10-second warm-up run (imports,
first calls); the figure is CPU seconds of that process per simulated hour of
`scenarios/baseline.yaml` (2 tickets/s), measured on the simulated minutes above and
scaled, with `sh.run` computing metrics. The note compares each agent with the same logic
on the plain openai SDK.
"""


def render(title: str, figures: list[Figure], *, command: str, quick: bool, started: str,
           seconds: float, host: str, notes: str, judged: bool) -> str:
    """One RESULTS.md section: what wrote it, the machine, the table, verdicts, notes."""
    lines = [f"## {title}", "",
             f"Written by `{command}` on {started} in {seconds:.0f} s; do not edit by hand, "
             "run the command again.", "",
             f"Machine: {host}. {libraries()}; load average {load_now()} when this "
             "section finished.",
             ""]
    if quick:
        lines += ["**Quick run**: small sizes, to check the script works; the figures are "
                  "not comparable with the targets.", ""]
    lines += ["| measurement | figure | target | verdict | note |", "|---|---|---|---|---|"]
    lines += [f.row(quick) for f in figures]
    if judged and not quick:
        missed = [f.measurement for f in figures if f.passed is False]
        lines += ["", f"Targets met: {sum(f.passed is True for f in figures)} of "
                  f"{sum(f.passed is not None for f in figures)}"
                  + (f"; missed: {'; '.join(missed)}." if missed else ".")]
    lines += ["", notes]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true",
                        help="small runs to check the script works (writes no file unless "
                             "--output is given)")
    parser.add_argument("--output", type=Path,
                        help=f"the results file to write (default: {RESULTS} for a full run)")
    parser.add_argument("--frameworks-minutes", type=float, default=None,
                        help=f"simulated minutes per framework agent (default "
                             f"{FULL.frameworks_minutes:g}, {QUICK.frameworks_minutes:g} "
                             "with --quick)")
    parser.add_argument("--skip-frameworks", action="store_true",
                        help="leave out the framework agents (their section stays as it is)")
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    output = args.output or (None if args.quick else RESULTS)
    command = "python benchmarks/bench_engine.py" + (" --quick" if args.quick else "")
    host = machine()

    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    clock = time.perf_counter()
    figures: list[Figure] = []
    for part in ENGINE_PARTS:
        print(f"measuring: {part.__name__} ...", file=sys.stderr, flush=True)
        figures += part(sizes)
    text = render("Engine", figures, command=command, quick=args.quick, started=started,
                  seconds=time.perf_counter() - clock, host=host, notes=ENGINE_NOTES,
                  judged=True)
    print(text)
    if output is not None:
        write_section("engine", text, output)
        print(f"wrote section engine of {output}")
    if args.skip_frameworks:
        return 0

    minutes = args.frameworks_minutes or sizes.frameworks_minutes
    agents = FRAMEWORK_AGENTS[:1] if args.quick else FRAMEWORK_AGENTS
    print(f"measuring: {len(agents)} framework agents, {minutes:g} simulated minutes each ...",
          file=sys.stderr, flush=True)
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    clock = time.perf_counter()
    figures = framework_figures(minutes, agents)
    more = f" --frameworks-minutes {minutes:g}" if args.frameworks_minutes else ""
    text = render(f"Framework agents, {minutes:g} simulated minutes each", figures,
                  command=command + more, quick=args.quick, started=started,
                  seconds=time.perf_counter() - clock, host=host, notes=FRAMEWORK_NOTES,
                  judged=False)
    print(text)
    if output is not None:
        write_section("frameworks", text, output)
        print(f"wrote section frameworks of {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

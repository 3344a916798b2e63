"""`simharness serve`: the scenario's world over real HTTP, for agents in other languages."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.console import Console

from ._common import EXIT_INTERRUPTED, EXIT_OK, EXIT_UNUSABLE, missing

HELP = "serve a scenario's simulated world (LLM APIs, tools, faults) on 127.0.0.1 in real time"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", type=Path, help="scenario YAML file")
    parser.add_argument("--port", type=int, help="port to serve on (default: the scenario's "
                        "agent.world_port, 8790; 0 picks a free one)")
    parser.add_argument("--speed", type=float, help="run the world this many times faster "
                        "than real time (default: the scenario's agent.speed, 1)")
    parser.add_argument("--seed", type=int, help="random seed (overrides the scenario's seed)")


def run(args: argparse.Namespace, console: Console) -> int:
    from .. import api
    from ..engine import Engine

    if missing(args.scenario):
        return EXIT_UNUSABLE
    scenario = api.as_scenario(args.scenario)
    agent = scenario.agent.model_copy(update={
        k: v for k, v in (("world_port", args.port), ("speed", args.speed)) if v is not None})
    scenario = scenario.model_copy(update={"agent": agent})
    engine = Engine(scenario, seed=args.seed, deliver=False)
    assert engine.remote is not None
    length = scenario.duration + scenario.drain
    console.print(f"serving the world of '{scenario.name}' for {length:g} simulated seconds "
                  f"at {agent.speed:g}x real time (Ctrl-C stops):")
    for name, url in engine.base_urls.items():
        console.print(f"  {name:<10} {url}")
    console.print("  (the OpenAI-compatible API is under /llm/v1, Anthropic's under /llm)")
    out = engine.run()
    console.print(f"world closed at {out.sim_end:g} simulated seconds")
    return EXIT_INTERRUPTED if out.interrupted else EXIT_OK

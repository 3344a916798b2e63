"""Checks on a valid scenario that predict a wasted or misleading run, done before it starts.

A scenario can be well formed and still not be what its author meant: `rate: 1e9/s`
would grow memory until the machine gives out, `rate: 0/s` measures nothing and would
pass every SLO, a fault at 10m in a 2m run never fires. Errors here stop a run before
it starts (exit 2); warnings are printed and the run goes on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ErrorLocation, ScenarioError
from .scenario import Scenario, SyntheticTraffic

__all__ = ["DEFAULT_MAX_TICKETS", "RECORD_BYTES", "RunEstimate", "check_run", "estimate",
           "run_errors", "warnings"]

#: Tickets a run may make unless the caller raises the limit (`--max-tickets`,
#: `max_tickets=`). Peak memory is about 3.5 KB per ticket (see benchmarks/RESULTS.md),
#: so the default run stays within a few GB.
DEFAULT_MAX_TICKETS = 1_000_000
#: Bytes one ticket's row takes in `records.jsonl`, typically (more with long logs).
RECORD_BYTES = 900


@dataclass(frozen=True)
class RunEstimate:
    """What a run will make, from the arrival rates: expected values, not draws.

    `per_source` has one entry per traffic source, None for a source whose size is not
    known before it is read (a replayed file, bounded by its reader's own limits);
    `tickets` sums the known ones."""

    tickets: float
    per_source: tuple[float | None, ...]

    @property
    def complete(self) -> bool:
        """Every source's size is known."""
        return all(n is not None for n in self.per_source)

    @property
    def record_bytes(self) -> float:
        """Approximate size of `records.jsonl`."""
        return self.tickets * RECORD_BYTES


def _source_tickets(cfg: SyntheticTraffic, duration: float) -> float:
    """Expected arrivals of one source: its rate integrated over when it sends."""
    lo, hi = cfg.start, duration if cfg.until is None else min(cfg.until, duration)
    steps = cfg.rate_steps()
    total = 0.0
    for i, (at, rate) in enumerate(steps):
        end = steps[i + 1][0] if i + 1 < len(steps) else math.inf
        a, b = max(at, lo), min(end, hi)
        if b > a and rate > 0:
            total += rate * (b - a)
    return total


def estimate(scenario: Scenario) -> RunEstimate:
    """Expected tickets of the whole run and of each traffic source."""
    per_source = tuple(_source_tickets(source.synthetic, scenario.duration)
                       if source.synthetic is not None else None
                       for source in scenario.traffic)
    return RunEstimate(sum(n for n in per_source if n is not None), per_source)


def _rate_path(scenario: Scenario, index: int) -> tuple[str | int, ...]:
    cfg = scenario.traffic[index].synthetic
    if cfg is None:
        return ("traffic", index)
    return ("traffic", index, "synthetic", "schedule" if cfg.schedule is not None else "rate")


def _bytes(n: float) -> str:
    for unit, scale in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6)):
        if n >= scale:
            return f"{n / scale:,.1f} {unit}"
    return f"{n / 1e3:,.0f} kB"


def run_errors(scenario: Scenario, max_tickets: int | None = None) -> list[ErrorLocation]:
    """Why this scenario should not run: it sends no tickets, or more than `max_tickets`
    (default DEFAULT_MAX_TICKETS) are expected."""
    limit = DEFAULT_MAX_TICKETS if max_tickets is None else max_tickets
    guess = estimate(scenario)
    biggest = max(range(len(guess.per_source)), key=lambda i: guess.per_source[i] or 0.0,
                  default=0)
    if guess.tickets <= 0 and guess.complete:
        return [scenario.error_at(_rate_path(scenario, biggest),
                                  "the traffic sends no tickets during the run (every rate is "
                                  "0 while sources are active): the run would measure "
                                  "nothing")]
    if guess.tickets > limit:
        return [scenario.error_at(
            _rate_path(scenario, biggest),
            f"this run would make about {guess.tickets:,.0f} tickets (rate x duration), over "
            f"the limit of {limit:,} (records alone about {_bytes(guess.record_bytes)}, "
            "and memory grows with them); lower the rate or the duration, or raise the "
            "limit with --max-tickets (max_tickets= in Python) if you mean it")]
    return []


def check_run(scenario: Scenario, max_tickets: int | None = None) -> None:
    """Raise ScenarioError with every `run_errors` problem."""
    errors = run_errors(scenario, max_tickets)
    if errors:
        raise ScenarioError(errors)


def warnings(scenario: Scenario) -> list[ErrorLocation]:
    """Things that are allowed but probably not meant: faults that start after tickets
    stop arriving, and targets that mean nothing to their fault's family."""
    import fault_injectors  # lazily: the injectors import parts of simharness

    out: list[ErrorLocation] = []
    for i, fault in enumerate(scenario.faults):
        start, _ = fault.window()
        if start >= scenario.duration:
            where = "at" if fault.at is not None else "from"
            out.append(scenario.error_at(
                ("faults", i, where),
                f"fault {fault.name!r} starts at {start:g}s, when the run's arrivals have "
                f"ended (duration {scenario.duration:g}s): it can only touch late "
                "follow-ups, if anything"))
        try:
            family = fault_injectors.get(fault.kind).family
        except KeyError:
            continue
        if fault.target is None:
            continue
        if family in ("input", "delivery"):
            out.append(scenario.error_at(
                ("faults", i, "target"),
                f"{family} faults act on the tickets delivered to the agent, not on an "
                f"integration: target {fault.target!r} is ignored"))
        elif family == "llm" and not fault.target.startswith("llm"):
            out.append(scenario.error_at(
                ("faults", i, "target"),
                f"{fault.kind!r} changes model answers, but {fault.target!r} is not a model: "
                "it will never fire (use 'llm' or 'llm.<tier>')"))
    return out + _route_warnings(scenario)


def _route_warnings(scenario: Scenario) -> list[ErrorLocation]:
    """Per-route model settings naming a label no traffic source has (a typo, most
    likely), when every source says its routes before the run."""
    sources = scenario.traffic
    if not all(s.synthetic is not None or (s.replay and s.replay.routes) for s in sources):
        return []
    routes = {route for source in sources for route in source.routes}
    out: list[ErrorLocation] = []
    for name, tier in scenario.world.llm.tiers.items():
        at = ("world", "llm", "tiers", name)
        for route in tier.accuracy.by_route:
            if route not in routes:
                out.append(scenario.error_at(
                    (*at, "accuracy", "by_route", route),
                    f"no ticket has the route {route!r}: this accuracy never applies"))
        for route, spread in tier.confusion.items():
            if route not in routes:
                out.append(scenario.error_at(
                    (*at, "confusion", route),
                    f"no ticket has the route {route!r}: this confusion never applies"))
            for label in spread:
                if label not in routes:
                    out.append(scenario.error_at(
                        (*at, "confusion", route, label),
                        f"{label!r} is not a route of this scenario: the model will answer "
                        "it, and it counts as a label outside the routes"))
    return out

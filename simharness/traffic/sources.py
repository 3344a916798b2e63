"""Every traffic source behind one small interface: tickets in arrival order.

The engine does not care where tickets come from. `build_traffic` turns the scenario's
`traffic:` list into sources that each yield `Ticket`s whose `created_at` is the simulated
arrival time, plus what the world needs to know up front: the routes, the customers the
CRM serves, and the simulated wall-clock time of t=0 (the first replayed timestamp when a
replay keeps its original timing and the scenario sets no `start`).
"""

from __future__ import annotations

from collections import ChainMap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from ..errors import ScenarioError
from ..rng import BufferedSampler, derive_seed, numpy_stream
from .arrivals import piecewise_arrivals, poisson_arrivals
from .customers import ReplayCustomers
from .replay import ReplaySource
from .row_mapping import MappingError
from .synthetic import SyntheticGenerator
from .ticket import Customer, Ticket

if TYPE_CHECKING:
    from ..scenario import Scenario


class TicketSource(Protocol):
    """What the engine needs from a traffic source."""

    routes: list[str]

    def tickets(self) -> Iterator[Ticket]:
        """Tickets in arrival order; `created_at` is the simulated arrival time."""
        ...

    def report(self) -> dict[str, Any] | None:
        """What the source did, for the results (None when there is nothing to say)."""
        ...


class SyntheticSource:
    """Generated tickets at Poisson arrival times."""

    def __init__(self, generator: SyntheticGenerator, times: Iterator[float],
                 routes: list[str]) -> None:
        self.generator = generator
        self.times = times
        self.routes = routes

    def tickets(self) -> Iterator[Ticket]:
        make = self.generator.make_ticket
        for index, at in enumerate(self.times):
            yield make(index, at)

    def report(self) -> dict[str, Any] | None:
        return None


class ReplayedSource:
    """A ReplaySource bound to the run's t=0 and duration."""

    def __init__(self, source: ReplaySource, epoch: float, duration: float) -> None:
        self.source = source
        self.epoch = epoch
        self.duration = duration
        self.routes = source.routes

    def tickets(self) -> Iterator[Ticket]:
        return self.source.tickets(self.epoch, self.duration)

    def report(self) -> dict[str, Any] | None:
        return self.source.stats.to_json()


@dataclass
class Traffic:
    """The run's sources and what the world needs to know before the first ticket."""

    sources: list[TicketSource]
    routes: list[str]
    customers: Mapping[str, Customer]
    epoch: datetime


def scenario_dir(scenario: Scenario) -> Path:
    """Where paths in the scenario are relative to: its file's folder, else the cwd."""
    if not scenario.source or scenario.source.startswith("<"):
        return Path.cwd()
    return Path(scenario.source).parent


def build_traffic(scenario: Scenario, seed: int) -> Traffic:
    """Every source of `scenario.traffic`; ScenarioError (with file, line and field) when a
    replay cannot start."""
    many = len(scenario.traffic) > 1
    threshold = scenario.world.escalation.account_value_at_least
    end = scenario.duration
    customer_seed = derive_seed(seed, "customers")
    # Replayed files name their own customers; made-up ones get ids no export will reuse.
    mixed = any(source.replay is not None for source in scenario.traffic)
    prefix = "SIM-C" if mixed else "C"
    replay_customers = ReplayCustomers(customer_seed, threshold, prefix)
    built: list[Any] = []
    synthetic_customers: dict[str, Customer] = {}
    for i, source in enumerate(scenario.traffic):
        if source.synthetic is not None:
            cfg = source.synthetic
            follow_up = BufferedSampler(cfg.follow_up_delay,
                                        numpy_stream(seed, "traffic", i, "follow-up"))
            generator = SyntheticGenerator(
                cfg.routes, cfg.mix.model_dump(), seed=derive_seed(seed, "traffic", i),
                escalation_threshold=threshold, channels=cfg.channels, languages=cfg.languages,
                follow_up_delay=follow_up, id_prefix=f"T{i}-" if many else "T",
                customer_seed=customer_seed, customer_prefix=prefix)
            synthetic_customers.update(generator.customers())
            rng = numpy_stream(seed, "traffic", i, "arrivals")
            until = end if cfg.until is None else min(cfg.until, end)
            if cfg.schedule is not None:
                times = piecewise_arrivals([(s.at, s.rate) for s in cfg.schedule], cfg.start,
                                           until, rng)
            else:
                assert cfg.rate is not None  # the scenario requires rate or schedule
                times = poisson_arrivals(cfg.rate, cfg.start, until, rng)
            built.append(SyntheticSource(generator, times, list(cfg.routes)))
        else:
            assert source.replay is not None
            try:
                built.append(ReplaySource(
                    source.replay, base_dir=scenario_dir(scenario),
                    seed=derive_seed(seed, "traffic", i, "replay"), customers=replay_customers,
                    escalation_threshold=threshold, id_prefix=f"T{i}-" if many else "R"))
            except MappingError as exc:
                raise ScenarioError([scenario.error_at(("traffic", i, "replay", *exc.field),
                                                       exc.message)]) from None
    epoch = _epoch(scenario, [s for s in built if isinstance(s, ReplaySource)])
    sources: list[TicketSource] = [
        ReplayedSource(s, epoch.timestamp(), end) if isinstance(s, ReplaySource) else s
        for s in built]
    routes = list(dict.fromkeys(r for s in sources for r in s.routes))
    return Traffic(sources, routes, ChainMap(synthetic_customers, replay_customers.known), epoch)


def _epoch(scenario: Scenario, replays: list[ReplaySource]) -> datetime:
    """t=0: the scenario's `start` when it sets one, else the earliest timestamp of the
    replays that keep their original timing, else the default start."""
    firsts = [r.first_at for r in replays if r.original_timing and r.first_at is not None]
    if "start" in scenario.model_fields_set or not firsts:
        return scenario.start
    return datetime.fromtimestamp(min(firsts), UTC)

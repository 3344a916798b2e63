"""One scenario run: the SimPy model of arrivals, workers and agent calls, to records.

Each ticket event queues for one of the agent's workers, then runs the agent's real code
on simulated time (through the AgentRunner), and writes what happened into the ticket's
record. The engine decides when things happen; it never formats output (progress is
reported through a callback).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import threading
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import simpy
from simpy.rt import RealtimeEnvironment

from . import greenthreads
from .agents.adapter import AgentHandler, resolve_agent
from .agents.context import AgentContext
from .agents.http_agent import HttpAgentRunner, is_http_agent
from .agents.runner import AgentRunner, Outcome
from .errors import ScenarioError
from .record_store import RecordStore
from .records import MAX_ERROR_CHARS, EventScope, TicketRecord, cut_text
from .scenario import Scenario
from .seeded_random import seeded_globals
from .traffic.sources import TicketSource, build_traffic, scenario_dir
from .traffic.ticket import Ticket
from .vclock import AgentGreenlet, Clock, RunStalled, wall_clock
from .watchdog import Watchdog
from .workers import Workers
from .world import SimWorld
from .world.client_audit import grade
from .world.faults import FaultPlan
from .world.http import Exchange, Network
from .world.tools import ToolSetupError

# The share of hung tickets is judged once this many ticket events have finished.
_SHARE_AFTER = 10

#: progress(simulated_now, simulated_end, tickets_finished)
ProgressCallback = Callable[[float, float, int], None]


@dataclass
class RunOutput:
    """What the engine hands to Result: records plus facts about the run."""

    #: Every ticket's record, streamed to disk in chunks (see record_store.py).
    records: RecordStore
    seed: int
    sim_end: float
    wall_seconds: float
    fault_windows: list[tuple[str, float, float]]
    blocked_hosts: dict[str, int]
    warnings: dict[str, int]
    hung_interrupts: int
    #: Stopped by Ctrl-C: `records` are the tickets that had finished by then.
    interrupted: bool = False
    #: Why the run stopped before its end (the agent kept hanging, or it stalled), or None.
    stopped: str | None = None
    #: The first hung tickets: which, when, why and where (the agent's stack).
    hangs: list[dict[str, Any]] | None = None
    #: Simulated threads the agent's code and its frameworks started.
    threads_started: int = 0
    #: Requests from background code (exporters) to real hosts, answered in-process.
    background_hosts: dict[str, int] | None = None
    #: What each traffic source did (a replay's rows read, unreadable, sent...), or None.
    traffic: list[dict[str, Any] | None] = field(default_factory=list)
    #: The simulated wall-clock time of t=0 (a replay's first timestamp, or `start`).
    start: datetime | None = None
    #: Every route the traffic knows (configured, or found in replayed files).
    routes: list[str] = field(default_factory=list)
    #: Per simulated tool: calls, and requests that matched no route.
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)


#: How many hung tickets a run's results describe in full (the rest are counted).
HANGS_KEPT = 20


class Engine:
    """Builds the SimPy model of one scenario and runs it."""

    def __init__(self, scenario: Scenario, agent: Any = None, seed: int | None = None,
                 progress: ProgressCallback | None = None,
                 records: RecordStore | None = None, deliver: bool = True) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        ref = agent if agent is not None else (scenario.agent.http or scenario.agent.ref)
        if ref is None and deliver:
            from .errors import AgentError

            raise AgentError("no agent: set agent.ref in the scenario or pass agent=/--agent")
        # the world served over loopback: to an agent over HTTP, or to whoever calls it
        remote = not deliver or is_http_agent(ref)
        self.deliver = deliver
        self.progress = progress

        if remote:  # an agent in another process: the world keeps pace with the wall
            self.env: simpy.Environment = RealtimeEnvironment(
                factor=1 / scenario.agent.speed, strict=False)
        else:
            self.handler: AgentHandler = resolve_agent(ref, scenario.agent.params)
            self.env = simpy.Environment()
        self.workers = Workers(self.env, scenario.agent.workers)  # the rest queue
        self.traffic = build_traffic(scenario, self.seed)
        self.start = self.traffic.epoch
        self.routes = self.traffic.routes
        self.clock = Clock(self.env, self.start)
        self.faults = FaultPlan(scenario.faults, self.seed)
        try:
            self.world = SimWorld(self.env, scenario.world, self.routes, self.seed, self.start,
                                  self.traffic.customers, self.faults, scenario_dir(scenario))
        except ToolSetupError as exc:
            raise ScenarioError([scenario.error_at(("world", "tools", exc.tool, *exc.field),
                                                   exc.message)]) from None
        self.network = Network(Exchange(self.env, self.clock, self.world))
        self.base_urls = self.world.base_urls
        agent_config = scenario.agent
        self.watchdog = Watchdog(agent_config.watchdog, agent_config.stall_timeout,
                                 progress=self._now)
        #: Runs agent code in this process; or, for an agent over HTTP, `remote` delivers.
        self.runner: AgentRunner | None = None
        self.remote: HttpAgentRunner | None = None
        self.http: Any = None
        self.httpx2: Any = None
        if remote:
            assert isinstance(self.env, RealtimeEnvironment)
            self.remote = HttpAgentRunner(
                self.env, ref if deliver else None, self.world,
                ticket_timeout=agent_config.ticket_timeout, workers=agent_config.workers,
                port=agent_config.world_port,
                epoch=self.start.timestamp())
            self.base_urls = self.remote.base_urls
        else:
            self.http = self.network.client(asynchronous=self.handler.is_async,
                                            timeout=agent_config.http_timeout)
            self.httpx2 = self.network.client(asynchronous=self.handler.is_async,
                                              timeout=agent_config.http_timeout,
                                              module="httpx2")
            self.runner = AgentRunner(self.env, self.handler, self.clock, self.watchdog,
                                      agent_config.ticket_timeout)
        #: Events that always get a SimPy process of their own (no inline fast path).
        self._always_queued = self.runner is None or self.runner.is_async

        self.records = records if records is not None else RecordStore()
        self._open: dict[str, TicketRecord] = {}
        self._expected: dict[str, int] = {}
        self._states: dict[str, dict[str, Any]] = {}
        self._arrivals_open = 0
        self._finished = 0
        self._all_done = self.env.event()
        self._stop = self.env.event()
        self._stopped: str | None = None
        self._hangs: list[dict[str, Any]] = []
        self._hung_total = 0
        self._hang_streak = 0
        self._events_done = 0
        self._last_delivery = 0.0

    # -- SimPy processes ---------------------------------------------------------------
    def _arrivals(self, source: TicketSource) -> Generator[simpy.Event, Any, None]:
        env = self.env
        for ticket in source.tickets():
            delay = ticket.created_at - env.now
            if delay > 0:
                yield env.timeout(delay)
            self._start_ticket(ticket)
        self._arrivals_open -= 1
        self._check_done()

    def _start_ticket(self, ticket: Ticket) -> None:
        record = TicketRecord(
            ticket_id=ticket.id, conversation_id=ticket.conversation_id,
            arrived_at=ticket.created_at, true_route=list(ticket.true_routes),
            true_escalate=ticket.escalate, tags=list(ticket.tags), origin=ticket.origin,
            past_route=ticket.past_routes, past_escalate=ticket.past_escalate)
        self._open[ticket.id] = record
        plan = [(m.delay, k) for k, m in enumerate(ticket.messages)]
        for fault in self.faults.for_delivery(self.env.now, ticket.id):
            plan = self._redeliver(plan, fault.injector, record, fault.name)
        self._expected[ticket.id] = len(plan)
        latest = self.env.now + max(delay for delay, _ in plan)
        if latest > self._last_delivery:
            self._last_delivery = latest
        for delay, k in plan:
            if delay <= 0:
                self._dispatch(ticket, record, k)
            else:
                self._dispatch_later(delay, ticket, record, k)

    def _dispatch_later(self, delay: float, ticket: Ticket, record: TicketRecord,
                        k: int) -> None:
        def fire(_event: simpy.Event) -> None:
            self._dispatch(ticket, record, k)

        self.env.timeout(delay).callbacks.append(fire)

    @staticmethod
    def _redeliver(plan: list[tuple[float, int]], injector: Any, record: TicketRecord,
                   name: str) -> list[tuple[float, int]]:
        """Apply a delivery fault: a duplicate of the first event, or the first message
        arriving after its follow-up."""
        by = injector.reorder_by()
        if by is not None and len(plan) > 1:
            plan = [(plan[1][0] + by, 0), *plan[1:]]
            record.faults.append(name)
        after = injector.duplicate_after()
        if after is not None:
            plan = [*plan, (plan[0][0] + after, plan[0][1])]
            record.faults.append(name)
        return plan

    def _dispatch(self, ticket: Ticket, record: TicketRecord, k: int) -> None:
        """Start event k of a ticket now.

        Fast path: when a worker is free and the agent is sync, the agent runs right here;
        if it waits on simulated time, the runner resumes it from the callbacks of the
        events it waits on (no SimPy process of its own).
        """
        if self._always_queued or not self.workers.try_acquire():
            self.env.process(self._queued_event(ticket, record, k))
            return
        assert self.runner is not None
        now = self.env.now
        payload, ctx, scope = self._prepare(ticket, record, k, now, now)
        g, value = self.runner.begin(payload, ctx, scope)
        if type(value) is Outcome:
            self._end(ticket, record, k, scope, value, now)
        else:
            self._follow(g, value, ticket, record, k, scope, now)

    def _follow(self, g: AgentGreenlet, event: Any, ticket: Ticket, record: TicketRecord,
                k: int, scope: EventScope, start: float) -> None:
        """Let the runner serve a sync agent's waits; end the event when it returns."""
        def done(outcome: Outcome) -> None:
            self._end(ticket, record, k, scope, outcome, start)

        assert self.runner is not None
        self.runner.follow(g, event, scope, done)

    def _queued_event(self, ticket: Ticket, record: TicketRecord,
                      k: int) -> Generator[simpy.Event, Any, None]:
        arrived = self.env.now
        grant = self.workers.acquire()
        if grant is not None:
            yield grant
        start = self.env.now
        payload, ctx, scope = self._prepare(ticket, record, k, arrived, start)
        runner = self.runner
        if self.remote is not None:
            outcome = yield from self.remote.invoke_async(payload, ctx, scope)
        elif runner is not None and runner.is_async:
            outcome = yield from runner.invoke_async(payload, ctx, scope)
        else:
            assert runner is not None
            g, value = runner.begin(payload, ctx, scope)
            if type(value) is not Outcome:
                self._follow(g, value, ticket, record, k, scope, start)
                return
            outcome = value
        self._end(ticket, record, k, scope, outcome, start)

    def _prepare(self, ticket: Ticket, record: TicketRecord, k: int, arrived: float,
                 start: float) -> tuple[Any, AgentContext, EventScope]:
        record.wait_s += start - arrived
        if record.started_at is None:
            record.started_at = float(start)  # SimPy starts at the int 0
        ctx = AgentContext(ticket.id, ticket.conversation_id, k, self.http, self.base_urls,
                           self._states, record.log, self._now, self._sleep, self.httpx2)
        payload: Any = ticket.payload(k, self.start)
        for fault in self.faults.for_payload(start, ticket.id, k):
            if isinstance(payload, dict):
                payload = fault.injector.mutate(payload)
                if fault.name not in record.faults:
                    record.faults.append(fault.name)
                if "malformed" not in record.tags:
                    record.tags.append("malformed")
        deadline = start + self.scenario.agent.ticket_timeout
        if self.scenario.world.sla is not None:
            deadline = min(deadline, arrived + self.scenario.world.sla)
        return payload, ctx, EventScope(ticket, record, k, deadline)

    def _end(self, ticket: Ticket, record: TicketRecord, k: int, scope: EventScope,
             outcome: Outcome, start: float) -> None:
        scope.finished = True
        self.workers.release()
        record.service_s += self.env.now - start
        self._apply(record, outcome, k)
        if scope.exchanges:
            self._audit_client(scope, outcome)
        self._events_done += 1
        if outcome.status == "hung":
            self._hung(record, k, outcome)
        elif self._hang_streak:
            self._hang_streak = 0
        record.events += 1
        if record.events == self._expected[ticket.id]:
            del self._expected[ticket.id]
            record.finished_at = float(self.env.now)
            del self._open[ticket.id]
            self._states.pop(ticket.conversation_id, None)
            self.records.append(record)
            self._finished += 1
            self._check_done()

    def _audit_client(self, scope: EventScope, outcome: Outcome) -> None:
        """Grade the event's HTTP exchanges; findings go on the record and its audit trail."""
        agent = self.scenario.agent
        findings = grade(scope.exchanges, deadline=scope.deadline,
                         answered=outcome.decision is not None,
                         storm_attempts=agent.retry_storm_attempts,
                         ticket_timeout=agent.ticket_timeout)
        scope.exchanges = []
        record = scope.record
        for finding in findings:
            record.client.append(finding)
            record.log.append(f"[{self.env.now:.3f}s] harness: client {finding}")

    def _apply(self, record: TicketRecord, outcome: Outcome, k: int) -> None:
        """The ticket's decision is the last one made; failures predict nothing."""
        record.status = outcome.status
        decision = outcome.decision
        if decision is not None:
            record.error = None  # an earlier event's failure stays in the log
            record.pred_route = decision.routes
            record.pred_escalate = decision.escalate
            record.confidence = decision.confidence
            record.reason = decision.reason
            record.actions = decision.actions
        else:
            record.pred_route = []
            record.pred_escalate = False
            record.confidence = None
            record.reason = ""
            record.actions = []
            prefix = f"event {k}: " if record.events or k else ""
            record.error = cut_text(prefix + (outcome.error or outcome.status), MAX_ERROR_CHARS)
            record.log.append(f"[{self.env.now:.3f}s] harness: {record.error}")

    def _hung(self, record: TicketRecord, k: int, outcome: Outcome) -> None:
        """Keep what a hang looked like; stop the run when the agent keeps hanging (each
        hang costs `agent.watchdog` wall seconds, so a run of them would cost hours)."""
        self._hung_total += 1
        self._hang_streak += 1
        if len(self._hangs) < HANGS_KEPT:
            self._hangs.append({"ticket_id": record.ticket_id, "event": k,
                                "at": round(self.env.now, 6), "why": outcome.error,
                                "stack": outcome.stack or []})
        for line in outcome.stack or []:
            record.log.append(f"[{self.env.now:.3f}s] harness:   at {line}")
        config = self.scenario.agent
        reason = None
        if config.max_consecutive_hangs and self._hang_streak >= config.max_consecutive_hangs:
            reason = f"{self._hang_streak} tickets in a row hung"
        elif config.max_hang_share < 1 and self._events_done >= _SHARE_AFTER and \
                self._hung_total / self._events_done >= config.max_hang_share:
            reason = (f"{self._hung_total} of {self._events_done} ticket events hung "
                      f"({self._hung_total / self._events_done:.0%})")
        if reason is not None and self._stopped is None:
            self._stopped = (f"the agent keeps hanging: {reason} (agent.max_consecutive_hangs"
                             f"={config.max_consecutive_hangs}, agent.max_hang_share="
                             f"{config.max_hang_share:g}); the run stopped early")
            self._stop.succeed()

    def _hard_end(self) -> Generator[simpy.Event, Any, None]:
        """Stop `drain` seconds after the last delivery: arrivals end at `duration`, but a
        follow-up, duplicate or late message may be delivered after that, and the agent
        must get its chance to answer it."""
        yield self.env.timeout(self.scenario.duration)
        last = max(self.scenario.duration, self._last_delivery)
        yield self.env.timeout(last + self.scenario.drain - self.env.now)

    def _check_done(self) -> None:
        if self._arrivals_open == 0 and not self._open and not self._all_done.triggered:
            self._all_done.succeed()

    def _now(self) -> float:
        return self.env.now

    def _sleep(self, seconds: float) -> Any:
        """`ctx.sleep` (agents in this process only)."""
        assert self.runner is not None
        return self.runner.sleep(seconds)

    def _progress(self, end: float) -> Generator[simpy.Event, Any, None]:
        step = max(end / 400, 1.0)
        last = wall_clock()
        while True:
            yield self.env.timeout(step)
            now = wall_clock()
            if now - last >= 0.1:
                last = now
                assert self.progress is not None
                self.progress(self.env.now, end, self._finished)

    # -- running -----------------------------------------------------------------------
    def run(self) -> RunOutput:
        started = wall_clock()
        env = self.env
        if self.deliver:
            for source in self.traffic.sources:
                self._arrivals_open += 1
                env.process(self._arrivals(source))
        end = self._all_done | env.process(self._hard_end()) | self._stop
        if self.progress is not None:
            env.process(self._progress(self.scenario.duration))
        threads_started = 0
        if self.remote is not None:
            interrupted = False
            try:
                self.remote.run_loop(end)
            except KeyboardInterrupt:  # Ctrl-C: keep the tickets that finished
                interrupted = True
        else:
            interrupted, threads_started = self._run_in_process(end)
        if not interrupted:
            self._record_unfinished()
        if self.progress is not None:
            self.progress(min(env.now, self.scenario.duration), self.scenario.duration,
                          self._finished)
        # The records belong to the output from here on: the engine can outlive the run
        # (an agent's leftover greenlets and contexts point at it) and must not keep them.
        records, self.records = self.records.close(), RecordStore()
        return RunOutput(
            records=records, seed=self.seed, sim_end=env.now,
            wall_seconds=wall_clock() - started, fault_windows=self.faults.windows(env.now),
            blocked_hosts=dict(self.world.blocked_hosts), warnings=dict(self.clock.warnings),
            hung_interrupts=self.watchdog.fired, interrupted=interrupted,
            stopped=self._stopped, hangs=self._hangs, threads_started=threads_started,
            background_hosts=dict(self.network.background.hosts),
            traffic=[source.report() for source in self.traffic.sources], start=self.start,
            routes=list(self.routes), tools=self.world.tool_stats())

    def _run_in_process(self, end: simpy.Event) -> tuple[bool, int]:
        """Run agent code here, on simulated time and sealed off from the real network.

        Returns whether the run was interrupted (Ctrl-C) and how many threads the agent's
        code started. The watchdog's thread starts before threads become simulated, and
        stops after.
        """
        runner = self.runner
        assert runner is not None
        interrupted = False
        with _heap_frozen(), self.clock.installed(), seeded_globals(self.seed), \
                self.network.patched(), self.watchdog.running(), \
                greenthreads.installed(self.clock, self.watchdog) as threads:
            try:
                if runner.is_async:
                    runner.run_loop(end)
                else:
                    self.env.run(until=end)
            except KeyboardInterrupt:  # Ctrl-C: keep the tickets that finished
                self.watchdog.leave()
                interrupted = True
            except RunStalled as exc:
                report = self.watchdog.stall_report
                self._stopped = f"{exc or 'the simulation stalled'}; the run stopped early"
                if report is not None and report.stack:
                    self._hangs.append({"ticket_id": None, "event": None,
                                        "at": round(self.env.now, 6), "why": report.why,
                                        "stack": report.stack})
            runner.abandon()
        return interrupted, threads.started

    def _record_unfinished(self) -> None:
        """Tickets still open when the run ends are recorded as timed out."""
        if self._stopped is not None:
            unfinished = Outcome("error", error="not finished: the run stopped early")
        else:
            unfinished = Outcome("timeout", error="not finished when the run ended (drain "
                                 "after the last delivery)")
        for record in self._open.values():
            self._apply(record, unfinished, record.events)
            self.records.append(record)
        self._open.clear()


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """Keep the heap the run starts with (the scenario, the libraries, the agent's imports)
    out of the garbage collector's way while the run goes on: a full collection would walk
    all of it again and again, for garbage that only the run itself makes. Given back to
    the collector when the run ends."""
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def run_engine(scenario: Scenario, agent: Any = None, seed: int | None = None,
               progress: ProgressCallback | None = None,
               records: RecordStore | None = None) -> RunOutput:
    """Run in this thread, or in a helper thread when an event loop is already running here
    (Jupyter), since the simulation needs a thread whose event loop it owns. `records`:
    where the records go (default: a RecordStore in a temporary directory)."""
    engine = Engine(scenario, agent=agent, seed=seed, progress=progress, records=records)
    return run_in_own_thread_if_needed(engine)


def run_in_own_thread_if_needed(engine: Engine, name: str = "simharness-run") -> RunOutput:
    """`engine.run()` here, or on a helper thread when an event loop already runs here."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return engine.run()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["out"] = engine.run()
        except BaseException as exc:  # noqa: BLE001 (re-raised in the caller's thread)
            box["exc"] = exc

    thread = threading.Thread(target=target, name=name)
    thread.start()
    thread.join()
    if "exc" in box:
        raise box["exc"]
    return box["out"]

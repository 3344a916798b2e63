"""The agent's own floor for a simulated run: its work on the same tickets with the same
answers, and no simulation at all.

A simulated hour of the baseline costs the harness's work (arrivals, workers, the
simulated world, greenlet switches, records) plus the agent's own (its HTTP client,
tenacity, pybreaker, its parsing and caches). To know how much of the hour any harness
could save, `capture` runs the scenario once, keeping for every event the payload handed
to the agent and the world's answer to each of its calls (status, headers, body bytes, or
the transport error raised); `replay` then hands the same payloads, in start order, to a
fresh agent whose `ctx.http` is an `httpx.Client` on a `MockTransport` serving those
answers, and times it. The difference is the harness's share.

Timing in the replay follows the capture's simulated clock: while it runs,
`time.monotonic` reads a clock set to each event's simulated start and moved on by each
call's simulated duration, and `time.sleep` moves it on without waiting, so the agent's
cache lifetimes, time budgets and backoffs behave as they did in the run, where the
harness patches the same functions. (The harness also moves `datetime.now`, which
pybreaker's reset timer reads and the replay leaves alone: a scenario that opens a
breaker would replay differently. The baseline has no faults.) Replayed one at a time
instead of 16 at once, an event may find other cache or conversation state and make
other calls than it did: a call that matches none of its captured ones is answered with
the last captured answer of the same kind (method, URL and model) and counted as
off-script.
"""

from __future__ import annotations

import contextlib
import copy
import gc
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

import simharness as sh
from simharness.engine import run_engine
from simharness.scenario import Scenario

#: What a call is, for answering one the capture did not see: method, URL and model.
Kind = tuple[str, str, str]


@dataclass(slots=True)
class Call:
    """One HTTP call of an event in the captured run, and what the world answered."""

    key: tuple[str, str, bytes]  # method, URL, request body: what the replay must send
    kind: Kind
    elapsed: float  # simulated seconds the call took
    status: int = 0
    headers: list[tuple[bytes, bytes]] = field(default_factory=list)
    body: bytes = b""
    error: type[httpx.RequestError] | None = None
    message: str = ""

    def answer(self, request: httpx.Request) -> httpx.Response:
        if self.error is not None:
            raise self.error(self.message, request=request)
        return httpx.Response(self.status, headers=self.headers, content=self.body,
                              request=request)


@dataclass(slots=True)
class Event:
    """One event the agent handled in the captured run: its context, payload and calls."""

    ticket_id: str
    conversation_id: str
    event: int
    now: float  # simulated seconds since the run started
    monotonic: float  # what time.monotonic() read in the agent when the event started
    base_urls: dict[str, str]
    payload: Any  # a deep copy, taken before the agent saw it
    calls: list[Call] = field(default_factory=list)
    decision: Any = None


@dataclass(frozen=True)
class Capture:
    """Every event of a run in start order, with the run's own counts."""

    events: list[Event]
    tickets: int
    calls: int  # as the harness counted them, billed to tickets

    @property
    def captured_calls(self) -> int:
        return sum(len(e.calls) for e in self.events)


def _kind(method: str, url: str, body: Any) -> Kind:
    model = body.get("model", "") if isinstance(body, dict) else ""
    return method.upper(), url, str(model)


class _RecordingClient:
    """Stands in for `ctx.http` in the capture run: passes each `request` on to the
    harness's client and keeps the answer in the calling event's list (one per event, so
    events that interleave on the workers cannot mix their calls). Anything else goes to
    the harness's client unrecorded, which `capture`'s count check then reports."""

    def __init__(self, client: httpx.Client, calls: list[Call]) -> None:
        self._client = client
        self._calls = calls

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        kind = _kind(method, str(url), kwargs.get("json"))
        start = time.monotonic()  # simulated while the run is active
        try:
            response = self._client.request(method, url, **kwargs)
        except httpx.RequestError as exc:
            try:
                request: httpx.Request | None = exc.request
            except RuntimeError:  # an error raised without its request
                request = None
            key = (method.upper(), str(request.url) if request else str(url),
                   request.content if request else b"")
            self._calls.append(Call(key, kind, time.monotonic() - start, error=type(exc),
                                    message=str(exc)))
            raise
        request = response.request
        self._calls.append(Call((request.method, str(request.url), request.content), kind,
                                time.monotonic() - start, response.status_code,
                                list(response.headers.raw), response.content))
        return response

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


class _RecordingContext:
    """The harness's context for one event with `http` replaced by a recording client."""

    def __init__(self, ctx: sh.AgentContext, calls: list[Call]) -> None:
        self._ctx = ctx
        self.http = _RecordingClient(ctx.http, calls)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ctx, name)


class _Recorder:
    """The agent as the harness sees it in the capture run: keeps each event, then hands
    it on to the real agent."""

    def __init__(self, agent: Any) -> None:
        self.agent = agent
        self.events: list[Event] = []

    def handle(self, payload: Any, ctx: sh.AgentContext) -> Any:
        event = Event(ctx.ticket_id, ctx.conversation_id, ctx.event, ctx.now,
                      time.monotonic(), dict(ctx.base_urls), copy.deepcopy(payload))
        self.events.append(event)
        event.decision = self.agent.handle(payload, _RecordingContext(ctx, event.calls))
        return event.decision


def capture(scenario: Scenario, agent: Any) -> Capture:
    """Run `scenario` with `agent` (an object with `handle(payload, ctx)` that calls the
    world through `ctx.http.request`), keeping every event's payload and answers. Fails
    when the calls kept are not the calls the harness counted, so none goes missing."""
    recorder = _Recorder(agent)
    out = run_engine(scenario, agent=recorder)
    done = Capture(recorder.events, len(out.records), sum(r.calls for r in out.records))
    if done.captured_calls != done.calls:
        raise RuntimeError(f"captured {done.captured_calls:,} calls but the harness counted "
                           f"{done.calls:,}: the capture missed some of the agent's calls")
    return done


class _Script:
    """The replay's world: answers each call of the current event with the captured
    answer to the same request, in order, and keeps the replay's simulated clock."""

    def __init__(self, events: list[Event]) -> None:
        self.last: dict[Kind, Call] = {c.kind: c for e in events for c in e.calls}
        self.clock = 0.0
        self.calls: list[Call] = []
        self.next = self.made = self.off_script = 0

    def start(self, event: Event) -> None:
        self.calls, self.next, self.clock = event.calls, 0, event.monotonic

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.made += 1
        key = (request.method, str(request.url), request.content)
        for i in range(self.next, len(self.calls)):
            if self.calls[i].key == key:
                self.next = i + 1
                call = self.calls[i]
                break
        else:
            call = self._like(request)
        self.clock += call.elapsed
        return call.answer(request)

    def _like(self, request: httpx.Request) -> Call:
        """The last captured answer to a call of this kind: this event's, else any."""
        self.off_script += 1
        body = json.loads(request.content) if request.content else None
        kind = _kind(request.method, str(request.url), body)
        for call in reversed(self.calls):
            if call.kind == kind:
                return call
        if kind in self.last:
            return self.last[kind]
        raise RuntimeError(f"the replay made a call the capture never saw: {kind}")

    @contextlib.contextmanager
    def clock_patched(self) -> Iterator[None]:
        """`time.monotonic` reads the script's clock and `time.sleep` moves it on."""
        real = time.monotonic, time.sleep

        def sleep(seconds: float) -> None:
            self.clock += max(0.0, seconds)

        time.monotonic, time.sleep = (lambda: self.clock), sleep
        try:
            yield
        finally:
            time.monotonic, time.sleep = real


@contextlib.contextmanager
def _heap_frozen() -> Iterator[None]:
    """What the engine does for a run (simharness.engine): the heap present at the start
    is left out of garbage collection until the end."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


@dataclass(frozen=True)
class Replay:
    """CPU seconds of the agent alone (best of the runs) and what its calls were."""

    cpu: float
    calls: int  # calls the agent made in the replay
    off_script: int  # of them, answered with another call's captured answer
    same_decisions: int  # events whose route and escalation are the captured ones


def replay(done: Capture, make_agent: Callable[[], Any], runs: int = 2) -> Replay:
    """Time a fresh agent from `make_agent` over the captured events, one after another.

    Payloads and contexts (`sh.make_context`: its `ctx.sleep` costs nothing) are built
    before the clock starts, so the time is the agent's: its code, its HTTP client and
    `MockTransport` building the captured responses. As in a run, the heap it starts with
    is frozen, so the garbage collector does not walk the captured run again and again.
    """
    best: Replay | None = None
    for _ in range(runs):
        script = _Script(done.events)
        client = httpx.Client(transport=httpx.MockTransport(script))
        agent = make_agent()
        work = [(e, copy.deepcopy(e.payload),
                 sh.make_context(http=client, base_urls=e.base_urls, ticket_id=e.ticket_id,
                                 conversation_id=e.conversation_id, event=e.event, now=e.now))
                for e in done.events]
        decisions: list[Any] = []
        with script.clock_patched(), _heap_frozen():
            start = time.process_time()
            for event, payload, ctx in work:
                script.start(event)
                decisions.append(agent.handle(payload, ctx))
            cpu = time.process_time() - start
        client.close()
        same = sum((d.route, d.escalate) == (e.decision.route, e.decision.escalate)
                   for d, e in zip(decisions, done.events, strict=True))
        if best is None or cpu < best.cpu:
            best = Replay(cpu, script.made, script.off_script, same)
    assert best is not None
    return best

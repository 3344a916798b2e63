"""Agents in other processes: tickets as webhooks, the world served over loopback.

An agent in another language runs on the wall clock, so the run does too: SimPy's
`RealtimeEnvironment` keeps simulated time at `speed` times real time, the world is served
over real HTTP (`world/server.py`) and every ticket event is a POST of its payload as JSON
to the agent's URL. The response body is the decision (a label, a list of labels, or an
object with `route`, `escalate`, `confidence`, `reason`, `actions`), and the records,
metrics, SLOs and report are the same as for agents in this process; latency is wall-clock
time scaled by `speed`. A refused connection, a timeout, an error status or a body that is
not a decision fails that ticket, never the run.

Runs against an agent in another process are not reproducible byte for byte: its answers
arrive when its process gets to them.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Generator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import replace
from time import monotonic
from typing import Any

import httpx
import simpy
from simpy.rt import RealtimeEnvironment

from fault_injectors import StreamPlan

from ..records import EventScope, current_scope
from ..world.client_audit import Exchange as AuditedExchange
from ..world.http import SimResponse
from ..world.server import (
    COMPLETE,
    DROPPED,
    TICKET_HEADER,
    WORLD_HEADER,
    Inbox,
    Pending,
    WorldServer,
    request_text,
)
from .context import AgentContext
from .runner import Outcome

#: Port the world is served on for agents in other processes unless the scenario says.
DEFAULT_WORLD_PORT = 8790
#: How long the run waits, at most, for the next thing to do (keeps Ctrl-C responsive).
POLL = 0.05


def is_http_agent(ref: Any) -> bool:
    """Whether an agent reference names an agent over HTTP (a URL)."""
    return isinstance(ref, str) and ref.startswith(("http://", "https://"))


class HttpAgentRunner:
    """Delivers ticket events to an agent's URL and serves it the world, in real time."""

    is_async = True  # the engine waits for each delivery as for an async agent
    in_process = False

    def __init__(self, env: RealtimeEnvironment, url: str | None, world: Any, *,
                 ticket_timeout: float, workers: int, port: int, epoch: float) -> None:
        self.env = env
        self.url = url
        self.world = world
        self.epoch = epoch
        self.speed = 1 / env.factor
        self.ticket_timeout = ticket_timeout
        self.inbox = Inbox()
        names = [url.split("//", 1)[1].split(".", 1)[0] for url in world.base_urls.values()]
        self.server = WorldServer(names, self.inbox, port=port)
        self.base_urls = self.server.base_urls
        self._pool = ThreadPoolExecutor(max_workers=max(workers, 1),
                                        thread_name_prefix="simharness-webhook")
        self._client = httpx.Client(timeout=ticket_timeout / self.speed)
        self._open: dict[str, list[EventScope]] = {}
        self._pending: set[Pending] = set()
        self.deliveries = 0

    # -- the engine's side -------------------------------------------------------------
    def invoke_async(self, payload: Any, ctx: AgentContext,
                     scope: EventScope) -> Generator[simpy.Event, Any, Outcome]:
        """POST the payload from a thread; the simulation goes on until the answer."""
        done = self.env.event()
        ticket = scope.ticket.id
        self._open.setdefault(ticket, []).append(scope)
        future = self._pool.submit(self._post, payload, ticket)

        def finished(f: Future[Outcome]) -> None:
            def resume() -> None:
                done.succeed(f.result())

            self.inbox.put(resume)

        future.add_done_callback(finished)
        try:
            outcome: Outcome = yield done
        finally:
            scopes = self._open[ticket]
            scopes.remove(scope)
            if not scopes:
                del self._open[ticket]
        return outcome

    def _post(self, payload: Any, ticket: str) -> Outcome:
        """One webhook delivery, on a pool thread."""
        assert self.url is not None  # a world served alone delivers no tickets
        self.deliveries += 1
        headers = {TICKET_HEADER: ticket, WORLD_HEADER: self.server.root}
        try:
            if isinstance(payload, dict | list):
                response = self._client.post(self.url, json=payload, headers=headers)
            else:  # a broken webhook body (an input fault): sent as it is
                content = payload if isinstance(payload, bytes) else (
                    b"" if payload is None else str(payload).encode("utf-8", "replace"))
                response = self._client.post(self.url, content=content, headers={
                    **headers, "content-type": "application/json"})
        except httpx.TimeoutException:
            return Outcome("timeout", error=f"the agent at {self.url} did not answer within "
                           f"agent.ticket_timeout ({self.ticket_timeout:g} s simulated)")
        except httpx.HTTPError as exc:
            return Outcome("error", error=f"cannot reach the agent at {self.url}: "
                           f"{type(exc).__name__}: {exc}")
        if not response.is_success:
            return Outcome("error", error=f"the agent answered HTTP {response.status_code}: "
                           f"{response.text[:200]}")
        try:
            value = response.json()
        except (ValueError, UnicodeDecodeError):
            return Outcome("invalid_output", error="the agent's response is not JSON: "
                           f"{response.text[:200]!r}")
        return Outcome.of(value)

    # -- the world's side --------------------------------------------------------------
    def _scope_for(self, pending: Pending) -> EventScope | None:
        """The ticket event a served request belongs to (see world/server.py)."""
        if pending.ticket is not None and pending.ticket in self._open:
            return self._open[pending.ticket][-1]
        request = pending.request
        if request.host.startswith("llm."):
            text = request_text(request.body)
            for scopes in self._open.values():
                if any(m.text and m.text in text for m in scopes[-1].ticket.messages):
                    return scopes[-1]
            return None
        where = request.path + "\n" + request.body.decode("utf-8", "replace")
        for scopes in self._open.values():
            if scopes[-1].ticket.customer.id in where:
                return scopes[-1]
        return None

    def _serve(self, pending: Pending) -> None:
        scope = self._scope_for(pending)
        token = current_scope.set(scope)
        try:
            served = self.world.serve(pending.request)
        finally:
            current_scope.reset(token)
        request = pending.request
        exchange = None
        if scope is not None:
            exchange = AuditedExchange(self.env.now, self.env.now, request.method,
                                       request.host + request.path, request.body, None, None,
                                       None, math.nan)  # the client's timeout is unknown
            scope.exchanges.append(exchange)
        self._pending.add(pending)

        def answer(response: Any) -> None:
            if exchange is not None:
                exchange.complete(self.env.now, response.status, response.failure,
                                  response.headers, self.epoch)
            pending.answer(response)
            if response.stream is not None and response.failure is None:
                self.env.process(self._stream(pending, response.stream, exchange))
            else:
                self._pending.discard(pending)

        if isinstance(served, simpy.Event):
            served.callbacks.append(lambda event: answer(event.value))
        else:
            latency, response = served
            if math.isfinite(latency):  # a `timeout` fault never answers
                if response.max_gap and response.failure is None and response.stream is None:
                    latency, response = trickled(response, latency)
                self.env.timeout(latency).callbacks.append(lambda _e: answer(response))

    def _stream(self, pending: Pending, plan: Any,
                exchange: AuditedExchange | None) -> Generator[simpy.Event, Any, None]:
        """Hand a streamed body to its connection chunk by chunk, each when the world's
        clock reaches it (chunks due at the same moment go together), then end it as the
        plan says; the client audit learns how it ended, as for a client in process."""
        due: list[bytes] = []
        for gap, data in plan.chunks:
            if gap > 0:
                if due:
                    pending.send(b"".join(due))
                    due = []
                yield self.env.timeout(gap)
            due.append(data)
        if due:
            pending.send(b"".join(due))
        if exchange is not None:
            exchange.end = self.env.now
            if plan.ending == "reset":
                exchange.failure = "reset"
            elif not plan.finished:
                exchange.unfinished_stream = True
        pending.end(DROPPED if plan.ending == "reset" else COMPLETE)
        self._pending.discard(pending)

    # -- the loop ----------------------------------------------------------------------
    def _present(self) -> float:
        """Simulated time now, by the wall clock."""
        env = self.env
        return env.env_start + (monotonic() - env.real_start) / env.factor

    def _catch_up(self, end: simpy.Event, *, to_present: bool = False) -> None:
        """Process every event due by the wall clock (and, `to_present`, move simulated
        time itself to now, so a request is served at the moment it arrived)."""
        env = self.env
        present = self._present()
        if to_present and present > env.now:
            env.timeout(present - env.now)
        while not end.triggered and env.peek() <= present:
            env.step()

    def run_loop(self, end: simpy.Event) -> None:
        """Serve the world and deliver tickets until `end`, keeping pace with the wall."""
        env = self.env
        with self.server, self._pool, self._client:
            env.sync()
            try:
                while not end.triggered:
                    self._catch_up(end)
                    if end.triggered:
                        break
                    gap = (env.peek() - self._present()) * env.factor
                    item = self.inbox.get(min(gap, POLL))
                    if item is None:
                        continue
                    self._catch_up(end, to_present=True)
                    if isinstance(item, Pending):
                        self._serve(item)
                    else:
                        item()
            finally:
                self._release()

    def _release(self) -> None:
        """Answer whatever still waits (dropped connections) and stop delivering."""
        for pending in list(self._pending):
            pending.drop()
        self._pending.clear()
        self._pool.shutdown(wait=False, cancel_futures=True)
        with contextlib.suppress(Exception):
            self._client.close()


def trickled(response: SimResponse, latency: float) -> tuple[float, SimResponse]:
    """A response that trickles in (`max_gap` set) as a body sent a piece at a time: the
    headers, then a piece every `max_gap` seconds, the last at `latency`, so a client's
    read timeout bounds the gap between bytes, as in production, not the whole response.
    Returns when the headers go out and the response with its body as a stream."""
    gap, body = float(response.max_gap or 0.0), response.body
    count = min(len(body), int(latency // gap)) if gap > 0 else 0
    if count < 1:
        return latency, response
    size = -(-len(body) // count)
    pieces = [body[i:i + size] for i in range(0, len(body), size)]
    plan = StreamPlan([(gap, piece) for piece in pieces], len(pieces), planned=len(pieces))
    headers = [(k, v) for k, v in response.headers if k.lower() != "content-length"]
    return latency - gap * len(pieces), replace(
        response, headers=[*headers, ("content-length", str(len(body)))], max_gap=None,
        stream=plan)

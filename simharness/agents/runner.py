"""Calling agent code on simulated time: pooled greenlets for sync agents, the simulated
event loop for async ones, deadlines, and how each call ended (an Outcome).

The engine decides *when* an event runs; the runner decides *how* the agent's code runs.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

import greenlet
import simpy

from ..records import EventScope, current_scope
from ..vclock import AgentGreenlet, AgentHung, Clock, RunStalled, SimEventLoop, TicketTimeout
from ..watchdog import Watchdog, where
from .adapter import AgentHandler
from .context import AgentContext
from .decision import MAX_LABEL_CHARS, Decision, InvalidOutput, normalize


@dataclass(slots=True)
class Outcome:
    """How one agent call ended."""

    status: str
    decision: Decision | None = None
    error: str | None = None
    #: Where agent code was when it was stopped (hung tickets), innermost frame last.
    stack: list[str] | None = None

    @classmethod
    def of(cls, value: Any) -> Outcome:
        if type(value) is str and len(value) <= MAX_LABEL_CHARS:  # the common case, cheap
            return cls("ok", Decision([value] if value else []))
        if inspect.isawaitable(value):
            if inspect.iscoroutine(value):
                value.close()
            return cls("invalid_output", error="agent returned an awaitable from a sync call; "
                       "declare its handler `async def`")
        try:
            return cls("ok", normalize(value))
        except InvalidOutput as exc:
            return cls("invalid_output", error=str(exc))

    @classmethod
    def failed(cls, exc: BaseException, watchdog: Watchdog | None = None) -> Outcome:
        if isinstance(exc, AgentHung):
            report = watchdog.report if watchdog is not None else None
            return cls("hung", error=str(exc) or (report.message if report else "hung"),
                       stack=report.stack if report else None)
        if isinstance(exc, TicketTimeout):
            return cls("timeout", error=str(exc) or "event exceeded agent.ticket_timeout")
        return cls("error", error=f"{type(exc).__name__}: {exc}".rstrip(": "))


def _must_propagate(exc: BaseException, watchdog: Watchdog, abandoning: bool) -> bool:
    """Exceptions that end the run rather than the ticket: the user's Ctrl-C, the run-level
    stall guard, and the harness stopping a greenlet at the end of the run."""
    if isinstance(exc, KeyboardInterrupt):
        return watchdog.genuine_interrupt()
    if isinstance(exc, greenlet.GreenletExit):
        return abandoning
    return isinstance(exc, RunStalled)


def _waiting_at(g: AgentGreenlet) -> str:
    """Where a suspended sync agent waits, for timeout messages (a wait nothing will end,
    such as an event no thread sets, shows up here)."""
    at = where(g.gr_frame)
    return f" while waiting at {at}" if at else ""


class AgentRunner:
    """Runs one agent's events; every wait inside agent code is a SimPy event."""

    def __init__(self, env: simpy.Environment, handler: AgentHandler, clock: Clock,
                 watchdog: Watchdog, ticket_timeout: float) -> None:
        self.env = env
        self.handler = handler
        self.is_async = handler.is_async
        self.clock = clock
        self.watchdog = watchdog
        self.ticket_timeout = ticket_timeout
        self.loop: SimEventLoop | None = None
        self._idle: list[AgentGreenlet] = []
        self._waiting: set[AgentGreenlet] = set()
        self._tasks: set[asyncio.Task[Any]] = set()
        self._abandoning = False

    # -- sync agents -------------------------------------------------------------------
    def begin(self, payload: Any, ctx: AgentContext,
              scope: EventScope) -> tuple[AgentGreenlet, Any]:
        """Run a sync agent until it returns (an Outcome) or first waits (an event)."""
        g = self._idle.pop() if self._idle else AgentGreenlet(self._sync_worker)
        self.clock.sync()
        self.watchdog.enter()
        value = g.switch(payload, ctx, scope)
        self.watchdog.leave()
        if type(value) is Outcome:
            self._idle.append(g)
        return g, value

    def follow(self, g: AgentGreenlet, event: Any, scope: EventScope,
               done: Callable[[Outcome], None]) -> None:
        """Serve a sync agent's simulated waits, from the callbacks of the events it waits
        on, until it returns; then `done(outcome)`.

        `event` is the agent's first wait (what `begin` returned). Each event resumes the
        agent as a SimPy process would, in the event's callbacks; a deadline that expires
        first throws `TicketTimeout` into the agent at the same point of the schedule as
        interrupting a process does.
        """
        _Follower(self, g, scope, done).start(event)

    def _sync_worker(self, payload: Any, ctx: AgentContext, scope: EventScope) -> None:
        """Body of a pooled greenlet: run one event, hand back its Outcome, wait for more.

        Greenlets are reused because creating one costs far more than switching to it.
        """
        call, takes_ctx = self.handler.call, self.handler.takes_ctx
        hub = greenlet.getcurrent().parent
        assert hub is not None
        while True:
            current_scope.set(scope)
            try:
                outcome = Outcome.of(call(payload, ctx) if takes_ctx else call(payload))
            except Exception as exc:
                outcome = Outcome.failed(exc)
            except BaseException as exc:  # CancelledError, SystemExit, custom ones, a hang
                if _must_propagate(exc, self.watchdog, self._abandoning):
                    raise
                outcome = Outcome.failed(exc, self.watchdog)
            payload, ctx, scope = hub.switch(outcome)

    def _arm_deadline(self, scope: EventScope) -> None:
        """Interrupt the current event's process when it exceeds agent.ticket_timeout."""
        process = self.env.active_process
        assert process is not None

        def expire(_event: simpy.Event) -> None:
            if not scope.finished:
                process.interrupt("deadline")

        self.env.timeout(self.ticket_timeout).callbacks.append(expire)

    # -- async agents ------------------------------------------------------------------
    def invoke_async(self, payload: Any, ctx: AgentContext,
                     scope: EventScope) -> Generator[simpy.Event, Any, Outcome]:
        """Run an async agent as a task on the simulated loop; wait for it in SimPy."""
        assert self.loop is not None, "run_loop() drives async agents"
        self._arm_deadline(scope)
        done = self.env.event()
        task = self.loop.create_task(self._async_main(payload, ctx, scope))
        self._tasks.add(task)

        def finished(_task: asyncio.Task[Any]) -> None:
            self._tasks.discard(task)
            done.succeed()

        task.add_done_callback(finished)
        try:
            yield done
        except simpy.Interrupt:
            task.cancel()
            return Outcome("timeout", error="event exceeded agent.ticket_timeout")
        outcome: Outcome = task.result()
        return outcome

    async def _async_main(self, payload: Any, ctx: AgentContext, scope: EventScope) -> Outcome:
        current_scope.set(scope)
        try:
            if self.handler.takes_ctx:
                return Outcome.of(await self.handler.call(payload, ctx))
            return Outcome.of(await self.handler.call(payload))
        except Exception as exc:
            return Outcome.failed(exc)
        except BaseException as exc:  # CancelledError the agent raised, SystemExit, a hang
            if _must_propagate(exc, self.watchdog, self._abandoning):
                raise
            return Outcome.failed(exc, self.watchdog)

    def run_loop(self, end: simpy.Event) -> None:
        """Drive the simulation from the simulated event loop until `end` fires."""
        loop = SimEventLoop(self.env, self.clock, self.watchdog.enter, self.watchdog.leave)
        self.loop = loop
        self.clock.hub_loop = loop
        end.callbacks.append(lambda _e: loop.stop())
        try:
            while True:
                try:
                    loop.run_forever()
                    break
                except AgentHung:  # landed in the loop's own code, not in a task: go on
                    if end.triggered:
                        break
        finally:
            self.clock.hub_loop = None
            self.watchdog.leave()
            # Agent code still awaiting when the run ends is dropped, not unwound: running
            # its cleanup would need simulated time past the end of the run.
            for task in self._tasks:
                task.cancel()
                task._log_destroy_pending = False  # type: ignore[attr-defined]
            loop.close()

    def sleep(self, seconds: float) -> Any:
        """`ctx.sleep`: an awaitable for async agents, a blocking wait for sync ones."""
        if self.is_async:
            return asyncio.sleep(seconds)
        return self.clock.sleep(seconds)

    # -- the end -----------------------------------------------------------------------
    def abandon(self) -> None:
        """Unwind agent code still waiting when the run ends (its finally blocks run, under
        the watchdog; one that waits again is thrown out again, then left)."""
        self._abandoning = True
        for g in list(self._waiting):
            for _attempt in range(3):
                if g.dead:
                    break
                self.watchdog.enter()
                try:
                    g.throw(greenlet.GreenletExit)
                except BaseException:  # noqa: BLE001, S110 (agent cleanup code misbehaving)
                    pass
                finally:
                    self.watchdog.leave()
        self._waiting.clear()
        # Pooled greenlets wait in `_sync_worker` holding their last event's payload,
        # context and scope, and their frames point back at this runner: the collector
        # cannot see into a suspended greenlet's frames, so that cycle (and the engine
        # behind it) would outlive the run. Ending them here runs no agent code.
        for g in self._idle:
            g.throw(greenlet.GreenletExit)
        self._idle.clear()


class _Follower:
    """One event of a sync agent that waits on simulated time: resumes its greenlet when
    the event it waits on fires, and stops it at its deadline.

    The work a SimPy process per waiting event would do (an initial event, a generator,
    an end event), done in plain callbacks: at tens of thousands of waits per simulated
    hour, that process is a large share of the cost of a wait.
    """

    __slots__ = ("runner", "g", "scope", "done", "target")

    def __init__(self, runner: AgentRunner, g: AgentGreenlet, scope: EventScope,
                 done: Callable[[Outcome], None]) -> None:
        self.runner = runner
        self.g = g
        self.scope = scope
        self.done = done
        self.target: simpy.Event | None = None

    def start(self, event: Any) -> None:
        runner = self.runner
        # The agent waits on simulated time: from now on it may overrun its budget.
        runner.env.timeout(runner.ticket_timeout).callbacks.append(self._expire)
        runner._waiting.add(self.g)
        self._wait_on(event)

    def _wait_on(self, event: Any) -> None:
        """Resume the agent when `event` fires (at once, as a process does, when it has
        already been processed)."""
        while True:
            callbacks = event.callbacks
            if callbacks is not None:
                callbacks.append(self._resume)
                self.target = event
                return
            event = self._switch(event)
            if event is None:
                return

    def _resume(self, event: simpy.Event) -> None:
        value = self._switch(event)
        if value is not None:
            self._wait_on(value)

    def _switch(self, event: simpy.Event) -> Any:
        """Hand the event's value to the agent; the next event it waits on, or None once it
        has returned."""
        if not event._ok:  # as a process would: the failure is raised where it waits
            event._defused = True  # type: ignore[attr-defined]
            return self._throw(type(event._value)(*event._value.args))
        runner = self.runner
        runner.clock.sync()
        watchdog = runner.watchdog
        watchdog.enter()
        value = self.g.switch(event._value)
        watchdog.leave()
        return self._after(value)

    def _throw(self, exc: BaseException) -> Any:
        runner = self.runner
        runner.clock.sync()
        runner.watchdog.enter()
        value = self.g.throw(exc)
        runner.watchdog.leave()
        return self._after(value)

    def _after(self, value: Any) -> Any:
        if type(value) is not Outcome:
            return value
        self._finish(value)
        return None

    def _finish(self, outcome: Outcome) -> None:
        runner = self.runner
        runner._waiting.discard(self.g)
        runner._idle.append(self.g)
        self.target = None
        self.done(outcome)

    def _expire(self, _event: simpy.Event) -> None:
        """The deadline: an urgent event at this instant, as `Process.interrupt` makes."""
        if self.scope.finished or self.target is None:
            return
        env = self.runner.env
        interruption = env.event()
        interruption._ok = True
        interruption._value = None
        interruption.callbacks.append(self._interrupt)  # type: ignore[union-attr]
        env.schedule(interruption, simpy.events.URGENT)

    def _interrupt(self, _event: simpy.Event) -> None:
        target = self.target
        if target is None:  # finished in the meantime
            return
        target.callbacks.remove(self._resume)  # type: ignore[union-attr]
        self.target = None
        message = (f"event exceeded agent.ticket_timeout ({self.runner.ticket_timeout:g} s "
                   f"simulated){_waiting_at(self.g)}")
        if self._throw(TicketTimeout(message)) is not None:  # swallowed: it waits on
            self.done(Outcome("timeout", error=message))

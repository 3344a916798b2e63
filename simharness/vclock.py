"""Simulated time for real agent code.

SimPy is the only scheduler. Sync agent code runs in a greenlet per event: a simulated
wait (`time.sleep`, an HTTP round trip) switches back to the simulation with the SimPy
event to wait for, and a callback of that event switches back in when it fires (see
agents/runner.py). Async agent code
runs on `SimEventLoop`, a real asyncio loop whose clock is `env.now`: timers become SimPy
timeouts, and the loop's selector, instead of sleeping, steps SimPy until asyncio has work.
An event loop that sync code creates during a run (`asyncio.run`, `run_sync` wrappers) is a
`GreenletLoop`: the same clock, but its selector switches its greenlet back to the
simulation instead. (Threads started during a run are greenlets too: see greenthreads.)

While a run is active `time.sleep`, `time.monotonic`, `time.perf_counter` (and their `_ns`
forms) are patched to read the simulated clock on the simulation thread, and time-machine
moves `time.time` and `datetime.now` to the scenario's start plus `env.now`. Everything is
restored when the run ends.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import selectors
import sys
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import Any

import greenlet
import simpy
import time_machine

from .errors import SimHarnessError

_real_sleep = time.sleep
_real_monotonic = time.monotonic
_real_monotonic_ns = time.monotonic_ns
_real_perf_counter = time.perf_counter
_real_perf_counter_ns = time.perf_counter_ns
_get_ident = threading.get_ident

#: Reads the real wall clock whatever a run has patched (for watchdogs and progress bars).
wall_clock: Callable[[], float] = _real_perf_counter

# Simulated monotonic clocks start here so that agent logs are the same on every machine.
_MONOTONIC_BASE = 1000.0
# A simulated wait that keeps landing on the same instant this many times in a row means
# agent code is polling without letting simulated time pass (e.g. `while x: sleep(0)`).
_LIVELOCK_LIMIT = 200_000


class AgentHung(BaseException):
    """Raised inside agent code that ran too long on the wall clock without yielding."""


class RunStalled(BaseException):
    """Raised in the simulation itself when it made no progress for too long (wall time)."""


class TicketTimeout(BaseException):
    """Raised inside agent code whose event exceeded its simulated time budget."""


class SimulationError(SimHarnessError):
    """Agent code did something the simulation cannot model (explained in the message)."""


class AgentGreenlet(greenlet.greenlet):
    """The greenlet that runs one event of a sync agent (or, subclassed, one thread)."""


_active: Clock | None = None
_get_running_loop = asyncio.events._get_running_loop
_set_running_loop = asyncio.events._set_running_loop


class Clock:
    """The simulated clock as agent code sees it, and the patches that make it so."""

    def __init__(self, env: simpy.Environment, epoch: datetime) -> None:
        self.env = env
        self.epoch = epoch
        self.thread = _get_ident()
        self.warnings: dict[str, int] = {}
        #: The greenlet that runs the simulation; every agent greenlet switches back to it.
        self.hub: greenlet.greenlet | None = None
        #: The event loop running on the hub (async agents), or None.
        self.hub_loop: asyncio.AbstractEventLoop | None = None
        #: Set while a run makes threads cooperative (see greenthreads).
        self.threads: Any = None
        #: Event loops agent code created during the run (closed at its end).
        self.loops: list[Any] = []
        #: How many of those are running inside greenlets right now.
        self.loops_running = 0
        self._stepping = False
        self._traveller: Any = None
        self._travel: Any = None
        self._synced_at = 0.0
        self._same_instant = 0
        self._last_instant = -1.0

    # -- clock reads -------------------------------------------------------------------
    def monotonic(self) -> float:
        return _MONOTONIC_BASE + self.env.now

    def sync(self) -> None:
        """Move time-machine's clock (time.time, datetime.now) to the simulated now."""
        now = self.env.now
        if now != self._synced_at and self._traveller is not None:
            if self._absolute:
                # Set, not shift: shifting by float deltas would drift over a long run.
                self._traveller._destination_timestamp_ns = self._epoch_ns + round(now * 1e9)
            else:
                self._traveller.shift(now - self._synced_at)
            self._synced_at = now

    # -- waiting -----------------------------------------------------------------------
    def wait(self, event: simpy.Event) -> Any:
        """Suspend the calling sync agent until `event` fires; return its value."""
        g = greenlet.getcurrent()
        if not isinstance(g, AgentGreenlet):
            raise SimulationError(
                "a blocking call (time.sleep or a sync HTTP request) was made outside a sync "
                "agent's own code, e.g. inside async code where it would block the event loop; "
                "use asyncio.sleep / httpx.AsyncClient in async agents")
        now = self.env.now
        if now == self._last_instant:
            self._same_instant += 1
            if self._same_instant > _LIVELOCK_LIMIT:
                self._same_instant = 0
                raise AgentHung("agent code keeps waiting without letting simulated time pass "
                                "(a polling loop with no pause?)")
        else:
            self._last_instant = now
            self._same_instant = 0
        if not self.loops_running:
            return g.parent.switch(event)
        # An event loop runs in some greenlet: what asyncio thinks runs on this thread (the
        # running loop, async generator hooks) belongs to each greenlet, as to a real thread.
        loop, hooks = _get_running_loop(), sys.get_asyncgen_hooks()
        _set_running_loop(self.hub_loop)
        try:
            return g.parent.switch(event)
        finally:
            _set_running_loop(loop)
            sys.set_asyncgen_hooks(*hooks)

    def block(self, event: simpy.Event, what: object = None) -> Any:
        """Wait for `event` wherever agent code runs: a greenlet switches away; the event
        loop of async agents (blocked, as it would be in production) steps the simulation
        until the event fires, so simulated threads can get there."""
        if isinstance(greenlet.getcurrent(), AgentGreenlet):
            return self.wait(event)
        if self.hub_loop is None or self._stepping:
            raise SimulationError(
                f"a blocking wait ({what or 'a lock or queue'}) inside the simulation's own "
                "callbacks cannot be simulated")
        env = self.env
        self._stepping = True
        try:
            while event.callbacks is not None:  # not processed yet
                if env.peek() == float("inf"):
                    raise SimulationError(
                        f"deadlock: async code blocks the event loop waiting on "
                        f"{what or 'a lock or queue'} that nothing in the simulation will release")
                env.step()
        finally:
            self._stepping = False
            self.sync()
        return event.value

    def sleep(self, seconds: float) -> None:
        """`time.sleep` on the simulation thread."""
        if not seconds >= 0:  # also rejects NaN
            raise ValueError("sleep length must be non-negative")
        if not isinstance(greenlet.getcurrent(), AgentGreenlet):
            # In production this blocks the whole event loop; here it cannot be modelled.
            self.warn("time.sleep() called from async code (blocks the event loop); ignored")
            return
        self.wait(self.env.timeout(seconds))

    def warn(self, message: str) -> None:
        self.warnings[message] = self.warnings.get(message, 0) + 1

    # -- patching ----------------------------------------------------------------------
    @contextlib.contextmanager
    def installed(self) -> Iterator[Clock]:
        """Patch the clocks for the duration of a run and restore them exactly."""
        global _active
        if _active is not None:
            raise SimHarnessError("a simulation is already running in this process")
        self.thread = _get_ident()  # the thread that runs the simulation
        self.hub = greenlet.getcurrent()
        self._travel = time_machine.travel(self.epoch, tick=False)
        self._traveller = self._travel.start()
        # time-machine's own field for the destination (checked on 2.14 to 3.6); should a
        # release rename it, fall back to its public shift().
        self._absolute = hasattr(self._traveller, "_destination_timestamp_ns")
        self._epoch_ns = getattr(self._traveller, "_destination_timestamp_ns", 0)
        self._synced_at = 0.0
        saved = (time.sleep, time.monotonic, time.monotonic_ns, time.perf_counter,
                 time.perf_counter_ns)
        _active = self
        time.sleep = _sim_sleep  # type: ignore[assignment]
        time.monotonic = _sim_monotonic
        time.monotonic_ns = _sim_monotonic_ns
        time.perf_counter = _sim_monotonic
        time.perf_counter_ns = _sim_monotonic_ns
        try:
            yield self
        finally:
            (time.sleep, time.monotonic, time.monotonic_ns, time.perf_counter,
             time.perf_counter_ns) = saved
            _active = None
            self._travel.stop()
            self._traveller = None


def _sim_sleep(seconds: float) -> None:
    clock = _active
    if clock is None or _get_ident() != clock.thread:
        return _real_sleep(seconds)
    clock.sleep(seconds)


def _sim_monotonic() -> float:
    clock = _active
    if clock is None or _get_ident() != clock.thread:
        return _real_monotonic()
    return _MONOTONIC_BASE + clock.env.now


def _sim_monotonic_ns() -> int:
    clock = _active
    if clock is None or _get_ident() != clock.thread:
        return _real_monotonic_ns()
    return round((_MONOTONIC_BASE + clock.env.now) * 1e9)


# ---------------------------------------------------------------------------------------
# asyncio on simulated time


class _SimSelector(selectors.BaseSelector):
    """A selector that, instead of sleeping, lets its loop wait on the simulation."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.loop: Any = None

    def register(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.register(fileobj, events, data)

    def unregister(self, fileobj: Any) -> selectors.SelectorKey:
        return self._real.unregister(fileobj)

    def modify(self, fileobj: Any, events: int, data: Any = None) -> selectors.SelectorKey:
        return self._real.modify(fileobj, events, data)

    def get_map(self) -> Any:
        return self._real.get_map()

    def close(self) -> None:
        self._real.close()

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        events = self._real.select(0)
        if events or (timeout is not None and timeout <= 0):
            return events
        assert self.loop is not None
        return self.loop._idle(self._real, timeout)  # type: ignore[no-any-return]


def _sim_timer(loop: asyncio.BaseEventLoop, env: simpy.Environment, when: float,
               callback: Callable[..., Any], args: tuple[Any, ...], context: Any,
               on_ready: Callable[[], None] | None) -> asyncio.TimerHandle:
    """An asyncio timer that is a SimPy timeout: when it fires, the handle joins the loop's
    ready queue (unless cancelled meanwhile)."""
    timer = asyncio.TimerHandle(when, callback, args, loop, context)
    delay = when - loop.time()

    def fire(_event: simpy.Event) -> None:
        if not timer._cancelled:  # type: ignore[attr-defined]
            loop._ready.append(timer)  # type: ignore[attr-defined]
            if on_ready is not None:
                on_ready()

    env.timeout(delay if delay > 0 else 0).callbacks.append(fire)
    return timer


class SimEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is SimPy's and whose idle time advances the simulation.

    It runs async agents on the simulation's own greenlet. Work sent to thread pools runs
    on simulated threads (see greenthreads); other executors' work (process pools) is
    waited for in real time with the simulated clock frozen.
    """

    def __init__(self, env: simpy.Environment, clock: Clock, on_enter: Callable[[], None],
                 on_leave: Callable[[], None]) -> None:
        selector = _SimSelector()
        super().__init__(selector)
        selector.loop = self
        self._env = env
        self._clock = clock
        self._on_enter = on_enter
        self._on_leave = on_leave
        self._threads_in_flight = 0
        self.finished = False

    def time(self) -> float:
        # The same clock as time.monotonic() in agent code, as in a stock event loop.
        return self._clock.monotonic()

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,  # type: ignore[override]
                context: Any = None) -> asyncio.TimerHandle:
        self._check_closed()  # type: ignore[attr-defined]
        return _sim_timer(self, self._env, when, callback, args, context, None)

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        pass  # cancelled timers are skipped when their SimPy timeout fires

    def run_in_executor(self, executor: Any, func: Callable[..., Any],  # type: ignore[override]
                        *args: Any) -> Any:
        future = super().run_in_executor(executor, func, *args)
        if executor is not None and not isinstance(executor,
                                                   concurrent.futures.ThreadPoolExecutor):
            self._threads_in_flight += 1
            future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _future: Any) -> None:
        self._threads_in_flight -= 1

    def _idle(self, real: selectors.BaseSelector, _timeout: float | None) -> list[Any]:
        """Step SimPy until asyncio has ready callbacks, the run ends, or threads finish."""
        self._on_leave()
        env = self._env
        clock = self._clock
        ready = self._ready  # type: ignore[attr-defined]
        clock._stepping = True
        try:
            while not ready and not self._stopping:  # type: ignore[attr-defined]
                if self._threads_in_flight:
                    return real.select(None)
                if env.peek() == float("inf"):
                    # Nothing left to simulate; wait briefly for foreign threads, then stop.
                    events = real.select(0.05)
                    if not events and not ready:
                        self.finished = True
                        self.stop()
                    return events
                env.step()
            return []
        finally:
            clock._stepping = False
            clock.sync()
            self._on_enter()


class GreenletLoop(asyncio.SelectorEventLoop):
    """The event loop agent code gets from `asyncio.run`, `asyncio.new_event_loop` and the
    `run_sync` wrappers built on them, when it creates one during a run.

    Its time is the simulated clock, and instead of sleeping its selector switches the
    greenlet that runs it (a sync agent's, or a simulated thread's) back to the simulation
    until a timer fires or another greenlet hands it work. Used after its run, or from
    another thread, it is a plain event loop.
    """

    def __init__(self, clock: Clock) -> None:
        selector = _SimSelector()
        super().__init__(selector)
        selector.loop = self
        self._clock: Clock | None = clock
        self._wakeup: simpy.Event | None = None

    def _sim(self) -> Clock | None:
        clock = self._clock
        if clock is not None and clock is _active and _get_ident() == clock.thread:
            return clock
        return None

    def time(self) -> float:
        clock = self._sim()
        return _real_monotonic() if clock is None else clock.monotonic()

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,  # type: ignore[override]
                context: Any = None) -> asyncio.TimerHandle:
        clock = self._sim()
        if clock is None:
            return super().call_at(when, callback, *args, context=context)
        self._check_closed()  # type: ignore[attr-defined]
        return _sim_timer(self, clock.env, when, callback, args, context, self._wake)

    def _call_soon(self, callback: Any, args: Any, context: Any) -> Any:
        handle = super()._call_soon(callback, args, context)  # type: ignore[misc]
        if self._wakeup is not None:
            self._wake()
        return handle

    def _wake(self) -> None:
        wakeup = self._wakeup
        if wakeup is not None and _get_ident() == self._clock_thread():
            self._wakeup = None
            wakeup.succeed()

    def _clock_thread(self) -> int:
        return self._clock.thread if self._clock is not None else -1

    def run_forever(self) -> None:
        clock = self._sim()
        if clock is None:
            return super().run_forever()
        clock.loops_running += 1
        try:
            super().run_forever()
        finally:
            clock.loops_running -= 1
        return None

    def _idle(self, real: selectors.BaseSelector, timeout: float | None) -> list[Any]:
        clock = self._sim()
        if clock is None:
            return real.select(timeout)
        if len(real.get_map()) > 1:  # more than the loop's own wake-up pipe
            raise SimulationError(
                "an asyncio event loop in agent code waits on real I/O (a socket, a pipe or "
                "a subprocess), which simulated time cannot model")
        wakeup = self._wakeup = clock.env.event()
        try:
            clock.block(wakeup, "an asyncio event loop")
        finally:
            self._wakeup = None
        return real.select(0)

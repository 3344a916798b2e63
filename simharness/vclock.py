"""Simulated time for real agent code.

SimPy is the only scheduler. Sync agent code runs in a greenlet per event: a simulated
wait (`time.sleep`, an HTTP round trip) switches back to the SimPy process that owns the
greenlet, which yields the SimPy event and switches back in when it fires. Async agent code
runs on `SimEventLoop`, a real asyncio loop whose clock is `env.now`: timers become SimPy
timeouts, and the loop's selector, instead of sleeping, steps SimPy until asyncio has work.

While a run is active `time.sleep`, `time.monotonic`, `time.perf_counter` (and their `_ns`
forms) are patched to read the simulated clock on the simulation thread, and time-machine
moves `time.time` and `datetime.now` to the scenario's start plus `env.now`. Everything is
restored when the run ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import selectors
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


class TicketTimeout(BaseException):
    """Raised inside agent code whose event exceeded its simulated time budget."""


class SimulationError(SimHarnessError):
    """Agent code did something the simulation cannot model (explained in the message)."""


class AgentGreenlet(greenlet.greenlet):
    """The greenlet that runs one event of a sync agent."""


_active: Clock | None = None


class Clock:
    """The simulated clock as agent code sees it, and the patches that make it so."""

    def __init__(self, env: simpy.Environment, epoch: datetime) -> None:
        self.env = env
        self.epoch = epoch
        self.thread = _get_ident()
        self.warnings: dict[str, int] = {}
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
        if type(g) is not AgentGreenlet:
            raise SimulationError(
                "a blocking call (time.sleep or a sync HTTP request) was made outside a sync "
                "agent's own code, e.g. inside async code where it would block the event loop; "
                "use asyncio.sleep / httpx.AsyncClient in async agents")
        now = self.env.now
        if now == self._last_instant:
            self._same_instant += 1
            if self._same_instant > _LIVELOCK_LIMIT:
                self._same_instant = 0
                raise AgentHung("agent code keeps waiting without letting simulated time pass")
        else:
            self._last_instant = now
            self._same_instant = 0
        return g.parent.switch(event)

    def sleep(self, seconds: float) -> None:
        """`time.sleep` on the simulation thread."""
        if not seconds >= 0:  # also rejects NaN
            raise ValueError("sleep length must be non-negative")
        if type(greenlet.getcurrent()) is not AgentGreenlet:
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
    """A selector that advances the simulation instead of sleeping."""

    def __init__(self) -> None:
        self._real = selectors.DefaultSelector()
        self.loop: SimEventLoop | None = None

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
        return self.loop._advance(self._real)


class SimEventLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose time is SimPy's and whose idle time advances the simulation.

    Real thread work in flight (`asyncio.to_thread`, `run_in_executor`) is waited for in
    real time with the simulated clock frozen, so results stay deterministic.
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
        timer = asyncio.TimerHandle(when, callback, args, self, context)
        delay = when - self.time()

        def fire(_event: simpy.Event) -> None:
            if not timer._cancelled:  # type: ignore[attr-defined]
                self._ready.append(timer)  # type: ignore[attr-defined]

        self._env.timeout(delay if delay > 0 else 0).callbacks.append(fire)
        return timer

    def _timer_handle_cancelled(self, handle: asyncio.TimerHandle) -> None:
        pass  # cancelled timers are skipped when their SimPy timeout fires

    def run_in_executor(self, executor: Any, func: Callable[..., Any],  # type: ignore[override]
                        *args: Any) -> Any:
        future = super().run_in_executor(executor, func, *args)
        self._threads_in_flight += 1
        future.add_done_callback(self._thread_done)
        return future

    def _thread_done(self, _future: Any) -> None:
        self._threads_in_flight -= 1

    def _advance(self, real: selectors.BaseSelector) -> list[Any]:
        """Step SimPy until asyncio has ready callbacks, the run ends, or threads finish."""
        self._on_leave()
        env = self._env
        ready = self._ready  # type: ignore[attr-defined]
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
            self._clock.sync()
            self._on_enter()


# ---------------------------------------------------------------------------------------
# watchdog


class Watchdog:
    """Marks agent code that runs too long on the wall clock without yielding as hung.

    A background thread watches how long agent code has been running since it was last
    entered; past the limit it interrupts the simulation thread, where the check is made
    again and `AgentHung` is raised inside the agent's frame. It cannot interrupt a spin
    inside C code (a regex, a C extension): the check then fires when control returns.
    """

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.entered_at = 0.0
        self.active = False
        self.fired = 0
        self._thread_id = _get_ident()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._use_signal = threading.current_thread() is threading.main_thread()
        self._saved_handler: Any = None

    def enter(self) -> None:
        self.entered_at = _real_perf_counter()
        self.active = True

    def leave(self) -> None:
        self.active = False

    def _overdue(self) -> bool:
        return self.active and _real_perf_counter() - self.entered_at > self.limit

    def _interrupt(self, *_args: Any) -> None:
        if self._overdue():
            self.active = False
            self.fired += 1
            raise AgentHung(f"agent code ran for more than {self.limit:g} s of wall time "
                            "without yielding")

    def _watch(self) -> None:
        import signal

        poll = min(max(self.limit / 4, 0.01), 0.25)
        while not self._stop.wait(poll):
            if not self._overdue():
                continue
            if self._use_signal:
                signal.pthread_kill(self._thread_id, signal.SIGUSR1)
            else:
                import ctypes

                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self._thread_id), ctypes.py_object(AgentHung))
                self.active = False
                self.fired += 1
            # Give the simulation thread time to act before checking again.
            self._stop.wait(max(poll, 0.05))

    @contextlib.contextmanager
    def running(self) -> Iterator[Watchdog]:
        import signal

        # Signals reach only the main thread; elsewhere (a notebook's run thread) the
        # watcher raises asynchronously in the simulation thread instead.
        self._thread_id = _get_ident()
        self._use_signal = threading.current_thread() is threading.main_thread()
        if self._use_signal:
            self._saved_handler = signal.signal(signal.SIGUSR1, self._interrupt)
        self._watcher = threading.Thread(target=self._watch, name="simharness-watchdog",
                                         daemon=True)
        self._watcher.start()
        try:
            yield self
        finally:
            self.active = False
            self._stop.set()
            self._watcher.join()
            if self._use_signal:
                signal.signal(signal.SIGUSR1, self._saved_handler)

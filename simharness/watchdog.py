"""The wall-clock guards of a run: no agent code and no simulation may hang it.

Two limits, watched from a background thread:

- agent code that runs `agent.watchdog` wall seconds without handing control back to the
  simulation (a busy loop, or a real blocking call: stdin, a socket, a lock from outside
  the run) gets `AgentHung` raised in its frame; its ticket is `hung` and the run goes on;
- a simulation that makes no progress at all for `agent.stall_timeout` wall seconds while
  no agent code runs gets `RunStalled` raised wherever it is; the run stops early with
  what it has.

Each firing comes with a `HangReport`: what happened in a user's words, and where (the
stack). Signals reach only the main thread: elsewhere (a notebook's run thread) the
exception is raised asynchronously, which cannot interrupt a call blocked inside C code.
"""

from __future__ import annotations

import contextlib
import linecache
import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import FrameType
from typing import Any

from .vclock import AgentHung, RunStalled, wall_clock

# How many times agent.watchdog an import inside agent code may take.
_IMPORT_GRACE = 12

_HERE = os.path.dirname(os.path.abspath(__file__))
_STDLIB = os.path.dirname(os.__file__)


@dataclass
class HangReport:
    """Why and where agent code or the simulation was stopped."""

    why: str
    where: str
    stack: list[str]

    @property
    def message(self) -> str:
        return f"{self.why} (at {self.where})" if self.where else self.why


def _location(frame: FrameType) -> str:
    code = frame.f_code
    line = linecache.getline(code.co_filename, frame.f_lineno).strip()
    where = f"{_short(code.co_filename)}:{frame.f_lineno} in {code.co_name}"
    return f"{where}: {line}" if line else where


def _short(path: str) -> str:
    for marker in ("site-packages" + os.sep, _STDLIB + os.sep):
        if marker in path:
            return path.split(marker, 1)[1]
    with contextlib.suppress(ValueError):
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            return rel
    return path


def stack_of(frame: FrameType | None, limit: int = 12) -> list[str]:
    """The frames from the agent's entry point down to `frame` (harness frames left out)."""
    lines: list[str] = []
    while frame is not None:
        if not frame.f_code.co_filename.startswith(_HERE):
            lines.append(_location(frame))
        frame = frame.f_back
    lines.reverse()
    return lines[-limit:]


def _innermost_user_frame(frame: FrameType | None) -> FrameType | None:
    """The innermost frame of the agent's own code or its libraries (not the standard
    library's, not the harness's); failing that, the innermost outside the harness."""
    fallback = None
    while frame is not None:
        path = frame.f_code.co_filename
        if not path.startswith(_HERE):
            if fallback is None:
                fallback = frame
            if not path.startswith(_STDLIB) or "site-packages" in path:
                return frame
        frame = frame.f_back
    return fallback


def where(frame: FrameType | None) -> str:
    """`file:line in function: source` of the agent code `frame` belongs to, or ''."""
    user = _innermost_user_frame(frame)
    return _location(user) if user is not None else ""


def _blocked_on(frame: FrameType) -> str:
    """What a call that never returns is waiting for, from the frames it sits in."""
    seen = []
    probe: FrameType | None = frame
    for _ in range(6):
        if probe is None:
            break
        seen.append((os.path.basename(probe.f_code.co_filename), probe.f_code.co_name,
                     linecache.getline(probe.f_code.co_filename, probe.f_lineno)))
        probe = probe.f_back
    top_file, top_func, top_line = seen[0]
    if top_file in ("base_events.py", "selectors.py", "selector_events.py"):
        return ("an asyncio event loop created outside the run is waiting in real time; "
                "create the loop inside the agent call (asyncio.run, run_sync) or make the "
                "agent async")
    if "input(" in top_line or "stdin" in top_line or top_func in ("readline", "read") \
            and "stdin" in "".join(s[2] for s in seen):
        return "agent code is reading standard input, which nobody types into during a run"
    if top_file in ("socket.py", "ssl.py") or ".recv" in top_line or "socket" in top_line:
        return "agent code is waiting on a real network socket, which simulated time cannot end"
    if top_file == "queue.py" or ".get(" in top_line and "queue" in top_line.lower():
        return ("agent code is waiting on a queue created outside the run (or fed by a real "
                "thread); nothing in the simulation can fill it")
    if top_file == "threading.py" or any(k in top_line for k in (".acquire(", ".wait(",
                                                                   ".join(")):
        return ("agent code is waiting on a lock, event or thread that exists outside the "
                "simulation (created before the run, or held by a real thread); nothing in "
                "the simulation can release it")
    if top_file == "subprocess.py":
        return "agent code is waiting for a subprocess"
    return ("agent code is stuck in a call that does not return (a real blocking call, "
            "which simulated time cannot end)")


class Watchdog:
    """Interrupts agent code that hangs and a simulation that stalls (see module doc)."""

    def __init__(self, limit: float, stall_limit: float | None = None,
                 progress: Callable[[], Any] | None = None) -> None:
        self.limit = limit
        self.stall_limit = stall_limit if stall_limit is not None else max(6 * limit, 30.0)
        self._progress = progress or (lambda: None)
        self.entered_at = 0.0
        self.active = False
        self.fired = 0
        self.entries = 0
        self.report: HangReport | None = None
        self.stall_report: HangReport | None = None
        #: True once a real Ctrl-C arrived during the run (KeyboardInterrupt raised by agent
        #: code itself is then told apart from the user's).
        self.interrupted = False
        self._sigint_installed = False
        #: SIGINT ignored or left to the OS when the run started (a background job, a
        #: service): no Ctrl-C can raise KeyboardInterrupt, so one is the agent's own.
        self._sigint_unraisable = False
        self._thread_id = threading.get_ident()
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._use_signal = threading.current_thread() is threading.main_thread()
        self._saved_handler: Any = None
        self._saved_sigint: Any = None
        self._pending: type[BaseException] | None = None

    def enter(self) -> None:
        self.entered_at = wall_clock()
        self.active = True
        self.entries += 1

    def leave(self) -> None:
        self.active = False

    def genuine_interrupt(self) -> bool:
        """Whether a KeyboardInterrupt now in flight may be the user's Ctrl-C."""
        return self.interrupted or not (self._sigint_installed or self._sigint_unraisable)

    def _overdue(self) -> bool:
        return self.active and wall_clock() - self.entered_at > self.limit

    # -- in the simulation thread ------------------------------------------------------
    def _interrupt(self, *_args: Any) -> None:
        pending = self._pending
        self._pending = None
        if pending is AgentHung and self._overdue():
            self.active = False
            self.fired += 1
            raise AgentHung(self.report.message if self.report else "agent code hung")
        if pending is RunStalled and not self.active:
            raise RunStalled(self.stall_report.message if self.stall_report else "stalled")

    def _on_sigint(self, signum: int, frame: Any) -> Any:
        self.interrupted = True
        previous = self._saved_sigint
        if callable(previous):
            return previous(signum, frame)
        raise KeyboardInterrupt

    # -- in the watcher thread ---------------------------------------------------------
    def _frame(self) -> FrameType | None:
        return sys._current_frames().get(self._thread_id)

    def _cpu_time(self) -> float | None:
        """CPU seconds the simulation thread has used (None where the OS cannot tell)."""
        try:
            return time.clock_gettime(time.pthread_getcpuclockid(self._thread_id))
        except (AttributeError, OSError):
            return None

    def _watch(self) -> None:
        poll = min(max(self.limit / 8, 0.01), 0.25)
        sampled_for = -1.0
        cpu_at_entry: float | None = None
        last_progress: Any = object()
        still_since = wall_clock()
        while not self._stop.wait(poll):
            now = wall_clock()
            if self.active:
                if self.entered_at != sampled_for:
                    sampled_for, cpu_at_entry = self.entered_at, self._cpu_time()
                if self._overdue() and not self._importing(now):
                    # Blocked in a call (stdin, a socket, a real lock) uses no CPU; a busy loop
                    # uses what it gets (less on a loaded machine, never almost none).
                    cpu = self._cpu_time()
                    busy = None if cpu is None or cpu_at_entry is None else \
                        (cpu - cpu_at_entry) > 0.05 * (now - self.entered_at)
                    self.report = self._hang_report(self._frame(), busy)
                    self._fire(AgentHung)
                continue
            progress = (self._progress(), self.entries)
            if progress != last_progress:
                last_progress, still_since = progress, now
            elif now - still_since > self.stall_limit:
                self.stall_report = self._stall_report(self._frame())
                self._fire(RunStalled)
                still_since = now

    def _importing(self, now: float) -> bool:
        """Agent code importing a module (frameworks import lazily on first use, which can
        take seconds) is given up to `_IMPORT_GRACE` times the limit: interrupting an import
        would leave the module half-initialised for the rest of the process."""
        if now - self.entered_at > _IMPORT_GRACE * self.limit:
            return False
        frame = self._frame()
        while frame is not None:
            if frame.f_code.co_filename == "<frozen importlib._bootstrap>":
                return True
            frame = frame.f_back
        return False

    def _hang_report(self, frame: FrameType | None, busy: bool | None) -> HangReport:
        limit = f"{self.limit:g} s"
        if frame is None:
            return HangReport(f"agent code ran for more than {limit} of wall time without "
                              "handing control back to the simulation", "", [])
        user = _innermost_user_frame(frame)
        stack = stack_of(frame)
        where = _location(user) if user is not None else ""
        if busy is False:
            why = f"blocked for more than {limit} of wall time: {_blocked_on(frame)}"
        elif busy is None:
            why = (f"agent code ran for more than {limit} of wall time without handing "
                   "control back to the simulation (a busy loop, or a real blocking call)")
        else:
            why = (f"agent code kept running for more than {limit} of wall time without "
                   "waiting on anything simulated (a busy loop, or a long computation)")
        return HangReport(why, where, stack)

    def _stall_report(self, frame: FrameType | None) -> HangReport:
        why = (f"the simulation made no progress for more than {self.stall_limit:g} s of "
               "wall time while no agent code was running")
        if frame is None:
            return HangReport(why, "", [])
        user = _innermost_user_frame(frame)
        return HangReport(why, _location(user) if user is not None else "", stack_of(frame))

    def _fire(self, exc: type[BaseException]) -> None:
        self._pending = exc
        if self._use_signal:
            import signal

            signal.pthread_kill(self._thread_id, signal.SIGUSR1)
        else:
            import ctypes

            if exc is AgentHung:
                self.active = False
                self.fired += 1
            ctypes.pythonapi.PyThreadState_SetAsyncExc(
                ctypes.c_ulong(self._thread_id), ctypes.py_object(exc))
        # Give the simulation thread time to act before checking again.
        self._stop.wait(0.05)

    @contextlib.contextmanager
    def running(self) -> Iterator[Watchdog]:
        import signal

        # Signals reach only the main thread; elsewhere (a notebook's run thread) the
        # watcher raises asynchronously in the simulation thread instead.
        self._thread_id = threading.get_ident()
        self._use_signal = threading.current_thread() is threading.main_thread()
        if self._use_signal:
            self._saved_handler = signal.signal(signal.SIGUSR1, self._interrupt)
            current = signal.getsignal(signal.SIGINT)
            self._sigint_unraisable = current in (signal.SIG_IGN, signal.SIG_DFL)
            if callable(current):
                self._saved_sigint = signal.signal(signal.SIGINT, self._on_sigint)
                self._sigint_installed = True
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
                if self._sigint_installed:
                    signal.signal(signal.SIGINT, self._saved_sigint)
                    self._sigint_installed = False

"""Threads on simulated time.

During a run, a thread started from the simulation thread (by agent code, a thread pool,
`asyncio.to_thread`, a framework's background exporter) runs as a greenlet driven by a
SimPy process, and the locks, conditions, events and queues it blocks on wait on SimPy
events instead of the operating system. Its `time.sleep` and HTTP calls are then simulated
like any agent code's, and results stay deterministic.

This is the technique gevent's monkey-patching uses, scoped: only code on the simulation
thread during a run gets the cooperative versions; every other thread (a notebook kernel's,
the watchdog) gets the real ones, and every patch is restored when the run ends. A
cooperative lock keeps a real lock inside, so one that outlives the run keeps working
between real threads.
"""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import contextlib
import ctypes
import itertools
import logging
import queue
import threading
import weakref
from collections import deque
from collections.abc import Callable, Generator, Iterator
from typing import Any

import greenlet
import simpy

from . import vclock
from .records import current_scope
from .vclock import AgentGreenlet, Clock, GreenletLoop
from .watchdog import Watchdog

_real_allocate_lock = _thread.allocate_lock
_real_rlock = threading.RLock
_real_simple_queue = queue.SimpleQueue
_real_thread_start = threading.Thread.start
_real_current_thread = threading.current_thread
_real_submit = concurrent.futures.ThreadPoolExecutor.submit
_real_new_event_loop = asyncio.events.BaseDefaultEventLoopPolicy.new_event_loop
_get_ident = _thread.get_ident
_getcurrent = greenlet.getcurrent

# Simulated threads get identifiers of their own, far from real ones, for logs and dicts.
_idents = itertools.count(1 << 48)


def _sim_clock() -> Clock | None:
    """The run's clock when called on the simulation thread during a run."""
    clock = vclock._active
    if clock is not None and _get_ident() == clock.thread:
        return clock
    return None


# ---------------------------------------------------------------------------------------
# cooperative primitives


class CoopLock:
    """`threading.Lock` for simulated threads: contention waits on simulated time.

    Holds a real lock, so uncontended use costs one C call and use from real threads (or
    after the run) is exactly a real lock's.
    """

    __slots__ = ("_real", "_waiters", "__weakref__")

    def __init__(self) -> None:
        self._real = _real_allocate_lock()
        self._waiters: deque[simpy.Event] | None = None

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        if self._real.acquire(False):
            return True
        if not blocking:
            if timeout != -1:
                raise ValueError("can't specify a timeout for a non-blocking call")
            return False
        clock = _sim_clock()
        if clock is None:
            return self._real.acquire(True, timeout)
        return self._wait(clock, None if timeout is None or timeout < 0 else timeout)

    def _wait(self, clock: Clock, timeout: float | None) -> bool:
        env = clock.env
        deadline = None if timeout is None else env.now + timeout
        while True:
            if self._waiters is None:
                self._waiters = deque()
            woken = env.event()
            self._waiters.append(woken)
            try:
                if deadline is None:
                    clock.block(woken, self)
                else:
                    clock.block(woken | env.timeout(max(deadline - env.now, 0)), self)
            finally:
                if not woken.triggered:
                    with contextlib.suppress(ValueError):
                        self._waiters.remove(woken)
            if self._real.acquire(False):
                return True
            if deadline is not None and env.now >= deadline:
                return False

    def release(self) -> None:
        self._real.release()
        waiters = self._waiters
        if waiters and _sim_clock() is not None:
            waiters.popleft().succeed()

    def locked(self) -> bool:
        return self._real.locked()

    def _at_fork_reinit(self) -> None:
        self._real = _real_allocate_lock()
        self._waiters = None

    __enter__ = acquire
    acquire_lock = acquire
    release_lock = release
    locked_lock = locked

    def __exit__(self, *exc: object) -> None:
        self.release()

    def __repr__(self) -> str:
        return f"<simulated {'locked' if self.locked() else 'unlocked'} lock>"


class CoopRLock:
    """`threading.RLock` for simulated threads: owned by a greenlet, not an OS thread
    (greenlets share one OS thread, so a real RLock would let them all in)."""

    __slots__ = ("_block", "_owner", "_count", "__weakref__")

    def __init__(self) -> None:
        self._block = CoopLock()
        self._owner: Any = None
        self._count = 0

    def acquire(self, blocking: bool = True, timeout: float = -1) -> bool:
        me = _getcurrent()
        if self._owner is me:
            self._count += 1
            return True
        if self._block.acquire(blocking, timeout):
            self._owner = me
            self._count = 1
            return True
        return False

    def release(self) -> None:
        if self._owner is not _getcurrent():
            raise RuntimeError("cannot release un-acquired lock")
        self._count -= 1
        if not self._count:
            self._owner = None
            self._block.release()

    __enter__ = acquire

    def __exit__(self, *exc: object) -> None:
        self.release()

    # The protocol threading.Condition uses to wait on an RLock it holds several times.
    def _is_owned(self) -> bool:
        return self._owner is _getcurrent()

    def _release_save(self) -> tuple[int, Any]:
        if not self._count:
            raise RuntimeError("cannot release un-acquired lock")
        state = (self._count, self._owner)
        self._count = 0
        self._owner = None
        self._block.release()
        return state

    def _acquire_restore(self, state: tuple[int, Any]) -> None:
        self._block.acquire()
        self._count, self._owner = state

    def _at_fork_reinit(self) -> None:
        self._block._at_fork_reinit()
        self._owner = None
        self._count = 0

    def __repr__(self) -> str:
        return f"<simulated rlock count={self._count}>"


class CoopSimpleQueue:
    """`queue.SimpleQueue` for simulated threads (the real one blocks in C)."""

    def __init__(self) -> None:
        self._items: deque[Any] = deque()
        self._ready = threading.Condition(CoopLock())  # type: ignore[arg-type]

    def put(self, item: Any, block: bool = True, timeout: float | None = None) -> None:
        with self._ready:
            self._items.append(item)
            self._ready.notify()

    def put_nowait(self, item: Any) -> None:
        self.put(item, False)

    def get(self, block: bool = True, timeout: float | None = None) -> Any:
        with self._ready:
            if not block:
                if not self._items:
                    raise queue.Empty
            elif timeout is None:
                while not self._items:
                    self._ready.wait()
            else:
                if timeout < 0:
                    raise ValueError("'timeout' must be a non-negative number")
                if not self._ready.wait_for(lambda: self._items, timeout):
                    raise queue.Empty
            return self._items.popleft()

    def get_nowait(self) -> Any:
        return self.get(False)

    def empty(self) -> bool:
        return not self._items

    def qsize(self) -> int:
        return len(self._items)


def _lock() -> Any:
    return CoopLock() if _sim_clock() is not None else _real_allocate_lock()


def _rlock(*args: Any, **kwargs: Any) -> Any:
    return CoopRLock() if _sim_clock() is not None else _real_rlock(*args, **kwargs)


class _SimpleQueue:
    """Stands in for the `queue.SimpleQueue` class during a run."""

    def __new__(cls) -> Any:  # type: ignore[misc]
        return CoopSimpleQueue() if _sim_clock() is not None else _real_simple_queue()


# ---------------------------------------------------------------------------------------
# threads as greenlets


class ThreadGreenlet(AgentGreenlet):
    """The greenlet that runs one simulated thread."""

    thread: threading.Thread


# The thread state's dict of the calling OS thread. PyThreadState_GetDict returns a borrowed
# reference, which ctypes would take as a new one: it gets one more below.
_thread_state_dict = ctypes.PYFUNCTYPE(ctypes.py_object)(("PyThreadState_GetDict",
                                                          ctypes.pythonapi))


class ThreadStates:
    """Gives each simulated thread the per-thread state of a thread of its own.

    CPython keeps the values of every `threading.local` (and the guard against recursive
    reprs) in the OS thread's state dict, which all greenlets of that thread share; so a
    `threading.local` made before the run (anyio's, for one) would be one namespace for all
    simulated threads, and one thread's `del local.x` would break another's. While simulated
    threads run, a greenlet trace swaps that dict's contents on every switch into or out of
    one: the simulation, and the agent code it runs, keep the OS thread's own state.
    """

    def __init__(self) -> None:
        state = _thread_state_dict()
        ctypes.pythonapi.Py_IncRef(ctypes.py_object(state))
        self.state: dict[Any, Any] = state
        #: Each suspended view's contents: a simulated thread's, or the OS thread's (None).
        self.saved: dict[ThreadGreenlet | None, dict[Any, Any]] = {}
        self.previous: Any = None
        self.on = False

    def install(self) -> None:
        if not self.on:
            self.previous = greenlet.settrace(self._trace)
            self.on = True

    def uninstall(self) -> None:
        """Called on the simulation's own greenlet, whose view is in place."""
        if self.on:
            greenlet.settrace(self.previous)
            self.on = False
        self.saved.clear()

    def _trace(self, event: str, args: tuple[Any, Any]) -> None:
        origin, target = args
        leaving = origin if type(origin) is ThreadGreenlet else None
        entering = target if type(target) is ThreadGreenlet else None
        if leaving is not entering:
            state = self.state
            if leaving is None or not origin.dead:  # a finished thread's state goes away
                self.saved[leaving] = state.copy()
            state.clear()
            view = self.saved.pop(entering, None)
            if view:
                state.update(view)
        if self.previous is not None:
            self.previous(event, args)


_DONE = object()


class SimThreads:
    """The simulated threads of one run: started as SimPy processes, stopped at its end."""

    def __init__(self, clock: Clock, watchdog: Watchdog) -> None:
        self.clock = clock
        self.watchdog = watchdog
        self.live: set[ThreadGreenlet] = set()
        self.started = 0
        self.states = ThreadStates()

    def start(self, thread: threading.Thread) -> None:
        """`Thread.start` on the simulation thread: the thread runs as a greenlet from the
        current simulated instant on, once the code that started it waits."""
        clock = self.clock
        assert clock.hub is not None
        done = CoopLock()  # plays the thread-state lock that join() and is_alive() wait on
        done.acquire()
        t: Any = thread
        t._tstate_lock = done
        t._ident = next(_idents)
        t._native_id = t._ident
        g = ThreadGreenlet(self._main, parent=clock.hub)
        g.thread = thread
        # A new thread starts with an empty context (as in production); daemon threads are
        # background work (exporters, pollers) billed to no ticket; others work for the
        # ticket that started them.
        g.gr_context = None
        scope = None if thread.daemon else current_scope.get()
        self.live.add(g)
        self.started += 1
        self.states.install()
        thread._started.set()  # type: ignore[attr-defined]
        clock.env.process(self._drive(g, scope))

    def _main(self, scope: Any) -> object:
        g: Any = _getcurrent()
        thread = g.thread
        if scope is not None:
            current_scope.set(scope)
        try:
            thread.run()
        except greenlet.GreenletExit:
            pass  # stopped at the end of the run
        except BaseException:  # noqa: BLE001 (reported like an uncaught exception in a thread)
            thread._invoke_excepthook(thread)
        finally:
            self._finish(g)
        return _DONE

    def _finish(self, g: ThreadGreenlet) -> None:
        self.live.discard(g)
        t: Any = g.thread
        lock = t._tstate_lock
        if lock is not None and lock.locked():
            lock.release()

    def _drive(self, g: ThreadGreenlet, scope: Any) -> Generator[simpy.Event, Any, None]:
        value = self._switch(g, scope)
        while value is not _DONE:
            result = yield value
            value = self._switch(g, result)

    def _switch(self, g: ThreadGreenlet, value: Any) -> Any:
        watchdog, clock = self.watchdog, self.clock
        was_active = watchdog.active
        hub_loop = clock.hub_loop
        if hub_loop is not None:  # in a real thread no event loop would be running
            asyncio.events._set_running_loop(None)
        clock.sync()
        watchdog.enter()
        try:
            return g.switch(value)
        finally:
            if was_active:
                watchdog.enter()
            else:
                watchdog.leave()
            if hub_loop is not None:
                asyncio.events._set_running_loop(hub_loop)

    def stop_all(self) -> None:
        """End threads still running when the run ends (idle pool workers, exporters):
        their `finally` blocks run; they are reported dead afterwards."""
        pool_logger = logging.getLogger("concurrent.futures")
        disabled = pool_logger.disabled
        pool_logger.disabled = True  # a pool worker logs any exception that stops it
        try:
            for g in list(self.live):
                for _attempt in range(3):
                    if g.dead:
                        break
                    try:
                        g.throw(greenlet.GreenletExit)
                    except BaseException:  # noqa: BLE001, S110 (thread cleanup misbehaving)
                        pass
                self._finish(g)
        finally:
            pool_logger.disabled = disabled
            self.states.uninstall()
        self.live.clear()


def _thread_start(self: threading.Thread) -> None:
    clock = _sim_clock()
    if clock is None or clock.threads is None:
        return _real_thread_start(self)
    if not self._initialized:  # type: ignore[attr-defined]
        raise RuntimeError("thread.__init__() not called")
    if self._started.is_set():  # type: ignore[attr-defined]
        raise RuntimeError("threads can only be started once")
    clock.threads.start(self)
    return None


def _current_thread() -> threading.Thread:
    g = _getcurrent()
    if type(g) is ThreadGreenlet:
        return g.thread
    return _real_current_thread()


# ---------------------------------------------------------------------------------------
# thread pools


class _Bypass:
    """Runs work for a pool created outside the run: its threads and queue are real, so
    each task gets a simulated thread of its own, at most max_workers at a time."""

    def __init__(self, workers: int) -> None:
        self.slots = threading.Semaphore(workers)  # created during the run: cooperative

    def run(self, future: concurrent.futures.Future[Any], fn: Callable[..., Any],
            args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        with self.slots:
            if not future.set_running_or_notify_cancel():
                return
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:  # noqa: BLE001 (handed to the future, as a pool does)
                future.set_exception(exc)
            else:
                future.set_result(result)


class _Pools:
    """`ThreadPoolExecutor.submit` during a run."""

    def __init__(self) -> None:
        self.bypass: weakref.WeakKeyDictionary[Any, _Bypass] = weakref.WeakKeyDictionary()

    def submit_function(self) -> Callable[..., concurrent.futures.Future[Any]]:
        def submit(executor: Any, fn: Callable[..., Any], /, *args: Any,
                   **kwargs: Any) -> concurrent.futures.Future[Any]:
            return self.submit(executor, fn, *args, **kwargs)

        return submit

    def submit(self, executor: Any, fn: Callable[..., Any], /, *args: Any,
               **kwargs: Any) -> concurrent.futures.Future[Any]:
        clock = _sim_clock()
        if clock is None:
            return _real_submit(executor, fn, *args, **kwargs)
        # A pool worker serves many tickets: the work goes with the submitter's ticket.
        scope = current_scope.get()
        if scope is not None:
            fn = _in_scope(scope, fn)
        made_in = getattr(executor, "_simharness_clock", None)
        if isinstance(executor._work_queue, CoopSimpleQueue) and made_in is not None and \
                made_in() is clock:
            return _real_submit(executor, fn, *args, **kwargs)
        if executor._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        bypass = self.bypass.get(executor)
        if bypass is None:
            bypass = self.bypass[executor] = _Bypass(executor._max_workers)
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        threading.Thread(target=bypass.run, args=(future, fn, args, kwargs),
                         name=f"{executor._thread_name_prefix or 'pool'}-task").start()
        return future


def _in_scope(scope: Any, fn: Callable[..., Any]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        token = current_scope.set(scope)
        try:
            return fn(*args, **kwargs)
        finally:
            current_scope.reset(token)

    return call


_real_pool_init = concurrent.futures.ThreadPoolExecutor.__init__


def _pool_init(self: Any, *args: Any, **kwargs: Any) -> None:
    _real_pool_init(self, *args, **kwargs)
    clock = _sim_clock()
    if clock is not None:
        self._simharness_clock = weakref.ref(clock)  # workers and queue are simulated


# ---------------------------------------------------------------------------------------
# event loops created by agent code


class _GreenletLocal:
    """Stands in for the event loop policy's thread-local state during a run: each simulated
    thread (greenlet) has its own current event loop, as each real thread would."""

    def __init__(self, real: Any, clock: Clock) -> None:
        object.__setattr__(self, "_real", real)
        object.__setattr__(self, "_clock", clock)
        object.__setattr__(self, "_slots", weakref.WeakKeyDictionary())

    def _target(self) -> Any:
        clock = self._clock
        if _get_ident() != clock.thread:
            return self._real
        g = _getcurrent()
        if g is clock.hub:
            return self._real
        slots = self._slots
        slot = slots.get(g)
        if slot is None:
            slot = slots[g] = type(self._real)()
        return slot

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target(), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(self._target(), name, value)


def _new_event_loop(self: Any) -> asyncio.AbstractEventLoop:
    clock = _sim_clock()
    if clock is None:
        return _real_new_event_loop(self)  # type: ignore[no-any-return]
    loop = GreenletLoop(clock)
    clock.loops.append(loop)
    return loop


# ---------------------------------------------------------------------------------------
# installing


@contextlib.contextmanager
def installed(clock: Clock, watchdog: Watchdog) -> Iterator[SimThreads]:
    """Make threads, locks, queues and new event loops on the simulation thread
    cooperative for the duration of a run; restore everything exactly afterwards."""
    threads = SimThreads(clock, watchdog)
    pools = _Pools()
    policy = asyncio.get_event_loop_policy()
    real_local = getattr(policy, "_local", None)
    saved: list[tuple[Any, str, Any]] = []

    def patch(owner: Any, name: str, value: Any) -> None:
        saved.append((owner, name, owner.__dict__[name]))
        setattr(owner, name, value)

    clock.threads = threads
    clock.loops = []
    try:
        # threading and queue read the clock they imported (`from time import monotonic`)
        # to bound timed waits; on the simulation thread that must be the simulated one.
        patch(threading, "_time", vclock._sim_monotonic)
        patch(queue, "time", vclock._sim_monotonic)
        patch(threading, "Lock", _lock)
        patch(threading, "_allocate_lock", _lock)
        patch(threading, "RLock", _rlock)
        patch(threading, "current_thread", _current_thread)
        patch(threading, "currentThread", _current_thread)
        patch(threading.Thread, "start", _thread_start)
        patch(queue, "SimpleQueue", _SimpleQueue)
        patch(concurrent.futures.ThreadPoolExecutor, "__init__", _pool_init)
        patch(concurrent.futures.ThreadPoolExecutor, "submit", pools.submit_function())
        patch(asyncio.events.BaseDefaultEventLoopPolicy, "new_event_loop", _new_event_loop)
        if real_local is not None:
            policy._local = _GreenletLocal(real_local, clock)  # type: ignore[attr-defined]
        yield threads
    finally:
        try:
            threads.stop_all()
            for loop in clock.loops:
                if not loop.is_running() and not loop.is_closed():
                    loop.close()
        finally:
            for owner, name, value in reversed(saved):
                setattr(owner, name, value)
            if real_local is not None:
                policy._local = real_local  # type: ignore[attr-defined]
            clock.threads = None
            clock.loops = []

"""HTTP between agent code and the simulated world.

Every httpx client reaches the world: `ctx.http` is built on `SimTransport` /
`AsyncSimTransport`, and during a run the default transports of `httpx` (and of `httpx2`,
which recent `openai` SDKs use) are patched so that clients the agent builds itself, the
SDK's included, route simulated hosts to the world too. No request reaches the real network
during a run: agent code handling a ticket gets `ConnectError` for any other host;
background code (tracing exporters and other daemon threads, threads from outside the run)
gets an empty `202 Accepted` without the request leaving the process, so it stays quiet;
both are counted. `requests`/`urllib3` get the same treatment.

The world answers a `SimRequest` with a `SimResponse` after a simulated latency; a failure
(connection refused, read timeout, reset) becomes the exception the client library raises
in production, after the simulated time it would take.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import io
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Protocol

import simpy

from ..records import current_scope
from ..vclock import Clock
from .client_audit import Exchange as AuditedExchange
from .json_text import dumps

#: Simulated integrations live under this top-level domain: `llm.sim`, `crm.sim`, ...
SIM_DOMAIN = ".sim"

_get_ident = threading.get_ident


@dataclass(slots=True)
class SimRequest:
    method: str
    host: str
    path: str
    query: str
    headers: Mapping[str, str]  # case-insensitive (the client's own Headers object)
    body: bytes
    read_timeout: float | None
    connect_timeout: float | None


@dataclass(slots=True)
class SimResponse:
    """A response, or a transport failure when `failure` is set.

    failure: "connect" (refused), "connect_timeout", "read_timeout", "reset" (dropped
    mid-response), "read_error".
    """

    status: int = 200
    body: bytes = b""
    headers: list[tuple[str, str]] = field(default_factory=list)
    failure: str | None = None
    detail: str = ""
    #: For a response that trickles in: the longest gap between bytes. A client's read
    #: timeout bounds that gap, not the whole response time.
    max_gap: float | None = None
    #: A body that arrives chunk by chunk over simulated time (a `StreamPlan`, as
    #: server-sent events); `body` is then unused.
    stream: Any = None


class World(Protocol):
    """What the transports need from the world."""

    def serve(self, request: SimRequest) -> tuple[float, SimResponse] | simpy.Event:
        """Either (latency, response) known up front, or an event whose value is the response."""
        ...

    def blocked(self, host: str) -> None:
        """Note an attempt to reach a host that is not simulated."""
        ...


def json_error(status: int, message: str, code: str, kind: str = "invalid_request_error",
               headers: list[tuple[str, str]] | None = None) -> SimResponse:
    """An error response shaped like the OpenAI API's (which most JSON APIs resemble)."""
    body = dumps({"error": {"message": message, "type": kind, "param": None, "code": code}})
    return SimResponse(status=status, body=body.encode(),
                       headers=[("content-type", "application/json"), *(headers or [])])


_FAILURES = {
    "connect": ("ConnectError", "[Errno 111] Connection refused"),
    "connect_timeout": ("ConnectTimeout", "timed out"),
    "read_timeout": ("ReadTimeout", "timed out"),
    "reset": ("RemoteProtocolError", "Server disconnected without sending a response."),
    "read_error": ("ReadError", "[Errno 104] Connection reset by peer"),
}


def _to_sim(request: Any, body: bytes, host: str | None = None) -> SimRequest:
    url = request.url
    query = url.query
    timeout = request.extensions.get("timeout") or {}
    # Positional, in field order (a slots dataclass builds faster so).
    return SimRequest(request.method, url.host if host is None else host, url.path,
                      query.decode() if isinstance(query, bytes) else str(query),
                      request.headers, body, timeout.get("read"), timeout.get("connect"))


class Exchange:
    """One request/response exchange on simulated time, shared by sync and async clients."""

    def __init__(self, env: simpy.Environment, clock: Clock, world: World) -> None:
        self.env = env
        self.clock = clock
        self.world = world
        self._epoch = clock.epoch.timestamp()

    def plan(self, sreq: SimRequest) -> tuple[simpy.Event, simpy.Event | None]:
        """Return (event to wait for, the world's response event or None if known up front).

        When the answer is known up front, the wait is cut at the read timeout and the
        response is attached as the event's value, or a read-timeout failure is.
        """
        env = self.env
        served = self.world.serve(sreq)
        timeout = sreq.read_timeout
        if not isinstance(served, simpy.Event):
            latency, response = served
            if response.failure in ("connect", "connect_timeout"):
                limit = sreq.connect_timeout
                if response.failure == "connect_timeout" and limit is not None:
                    latency = limit
                return env.timeout(latency, response), None
            waited = latency if response.max_gap is None else response.max_gap
            if timeout is not None and waited > timeout:
                return env.timeout(timeout, SimResponse(failure="read_timeout")), None
            return env.timeout(latency, response), None
        if timeout is None:
            return served, served
        return served | env.timeout(timeout), served

    def note(self, sreq: SimRequest) -> AuditedExchange | None:
        """Keep a request on the current event for the client audit at its end (a request
        still in flight when the event ends stays unanswered)."""
        scope = current_scope.get()
        if scope is None:
            return None
        now = self.env.now
        exchange = AuditedExchange(now, now, sreq.method, sreq.host + sreq.path, sreq.body,
                                   None, None, None, sreq.read_timeout)
        scope.exchanges.append(exchange)
        return exchange

    def answered(self, exchange: AuditedExchange | None, response: SimResponse) -> None:
        """Complete a noted exchange with what came back."""
        if exchange is None:
            return
        exchange.complete(self.env.now, response.status, response.failure, response.headers,
                          self._epoch)

    @staticmethod
    def outcome(waited: Any, served: simpy.Event | None) -> SimResponse:
        if served is None:
            response: SimResponse = waited
            return response
        if served.triggered:
            value: SimResponse = served.value  # type: ignore[assignment]
            return value
        return SimResponse(failure="read_timeout")


def _raise_or_build(mod: ModuleType, request: Any, response: SimResponse,
                    stream: Any = None) -> Any:
    if response.failure is not None:
        name, default = _FAILURES[response.failure]
        raise getattr(mod, name)(response.detail or default, request=request)
    if stream is not None:
        return mod.Response(response.status, headers=response.headers, stream=stream,
                            request=request)
    # As a network transport does: the body is a stream that the client reads (which also
    # sets `response.elapsed`), and the length is the server's header.
    body = response.body
    headers = response.headers
    if body:
        for name, _value in headers:
            if name.lower() == "content-length":
                break
        else:
            headers = [*headers, ("content-length", str(len(body)))]
    return mod.Response(response.status, headers=headers, stream=mod.ByteStream(body),
                        request=request)


_DROPPED = "peer closed connection without sending complete message body (incomplete chunked read)"


class _Chunks:
    """The chunks of a streamed body, each after its gap of simulated time. A gap longer
    than the client's read timeout raises `ReadTimeout` after that timeout; a connection
    that drops raises `RemoteProtocolError` where it drops. The client audit learns how
    the stream ended: failed, or read to an end that never finished the answer."""

    def __init__(self, mod: ModuleType, request: Any, plan: Any, read_timeout: float | None,
                 noted: AuditedExchange | None) -> None:
        self.mod = mod
        self.request = request
        self.plan = plan
        self.read_timeout = read_timeout
        self.noted = noted

    def steps(self) -> Iterator[tuple[float, bytes | Exception]]:
        """(seconds to wait, then the chunk to deliver or the exception to raise)."""
        timeout = self.read_timeout
        for gap, data in self.plan.chunks:
            if timeout is not None and gap > timeout:
                yield timeout, self._failed("read_timeout", self.mod.ReadTimeout(
                    "timed out", request=self.request))
                return
            yield gap, data
        if self.plan.ending == "reset":
            yield 0.0, self._failed("reset", self.mod.RemoteProtocolError(
                _DROPPED, request=self.request))
        elif self.noted is not None and not self.plan.finished:
            self.noted.unfinished_stream = True

    def _failed(self, failure: str, exc: Exception) -> Exception:
        if self.noted is not None:
            self.noted.failure = failure
        return exc

    def ended(self, now: float) -> None:
        """The stream ended (read to its end, or failed) at `now`."""
        if self.noted is not None:
            self.noted.end = now


def _blocked(mod: ModuleType, request: Any, world: World) -> Any:
    world.blocked(request.url.host)
    raise mod.ConnectError(
        f"simharness: real network is disabled during a simulation run; "
        f"{request.url.host!r} is not a simulated host (simulated hosts end in "
        f"'{SIM_DOMAIN}', see ctx.base_urls)", request=request)


class Background:
    """Requests to real hosts from background code during a run, answered in-process."""

    def __init__(self) -> None:
        self.hosts: dict[str, int] = {}

    def wants(self, thread: int, host: str) -> bool:
        """True for background code calling a real host: off the simulation thread (a
        thread from outside the run), or on it with no ticket (a daemon thread the agent's
        framework started, such as a tracing exporter)."""
        if host.endswith(SIM_DOMAIN):
            return False
        return threading.get_ident() != thread or current_scope.get() is None

    def count(self, host: str) -> None:
        self.hosts[host] = self.hosts.get(host, 0) + 1


class _Bridge:
    """Binds an httpx-like module (httpx or httpx2) to a run's exchange.

    Only the simulation thread is simulated: a simulated host called from another thread
    is a clear error, since its answer would have to come from another thread's point in
    simulated time (threads the agent starts during a run are simulated, see greenthreads).
    """

    def __init__(self, mod: ModuleType, exchange: Exchange, background: Background) -> None:
        self.mod = mod
        self.exchange = exchange
        self.background = background
        self.original_sync: Callable[..., Any] | None = None
        self.original_async: Callable[..., Any] | None = None

    def _quietly(self, request: Any) -> Any | None:
        """The in-process answer for background code, or None for simulated code; raises
        for a simulated host called from another thread."""
        host = request.url.host
        if self.background.wants(self.exchange.clock.thread, host):
            self.background.count(host)
            return self.mod.Response(202, headers=[("content-type", "application/json")],
                                     content=b"{}", request=request)
        if threading.get_ident() != self.exchange.clock.thread:
            raise self.mod.ConnectError(
                f"simharness: {host!r} answers only the simulation thread; HTTP from "
                "threads started outside the run is not simulated", request=request)
        return None

    def send_sync(self, request: Any, transport: Any = None) -> Any:
        exchange = self.exchange
        host = request.url.host
        # The common case first: a simulated host, called from the simulation thread.
        if not host.endswith(SIM_DOMAIN) or _get_ident() != exchange.clock.thread:
            quiet = self._quietly(request)
            if quiet is not None:
                return quiet
            if not host.endswith(SIM_DOMAIN):
                return _blocked(self.mod, request, exchange.world)
        sreq = _to_sim(request, request.read(), host)
        noted = exchange.note(sreq)
        wait_for, served = exchange.plan(sreq)
        waited = exchange.clock.wait(wait_for)
        response = Exchange.outcome(waited, served)
        exchange.answered(noted, response)
        stream = None if response.stream is None else \
            self._stream(request, sreq, response, noted, 0)
        return _raise_or_build(self.mod, request, response, stream)

    async def send_async(self, request: Any, transport: Any = None) -> Any:
        quiet = self._quietly(request)
        if quiet is not None:
            return quiet
        if not request.url.host.endswith(SIM_DOMAIN):
            return _blocked(self.mod, request, self.exchange.world)
        sreq = _to_sim(request, await request.aread())
        noted = self.exchange.note(sreq)
        wait_for, served = self.exchange.plan(sreq)
        waited = await _event_done(wait_for)
        response = Exchange.outcome(waited, served)
        self.exchange.answered(noted, response)
        return _raise_or_build(self.mod, request, response,
                               self._stream(request, sreq, response, noted, 1))

    def _stream(self, request: Any, sreq: SimRequest, response: SimResponse,
                noted: AuditedExchange | None, asynchronous: int) -> Any:
        """The body of a streamed response, for a sync (0) or async (1) client."""
        if response.stream is None or response.failure is not None:
            return None
        chunks = _Chunks(self.mod, request, response.stream, sreq.read_timeout, noted)
        return _STREAMS[self.mod.__name__][asynchronous](chunks, self.exchange)


async def _event_done(event: simpy.Event) -> Any:
    """Await a SimPy event from asyncio code; its value."""
    future = asyncio.get_running_loop().create_future()

    def resolve(done: simpy.Event) -> None:
        if not future.done():
            future.set_result(done.value)

    if event.callbacks is None:  # already processed
        resolve(event)
    else:
        event.callbacks.append(resolve)
    return await future


def _transport_classes(mod: ModuleType) -> tuple[type, type]:
    class SimTransport(mod.BaseTransport):  # type: ignore[name-defined,misc]
        """A sync transport into the simulated world."""

        def __init__(self, bridge: _Bridge) -> None:
            self._bridge = bridge

        def handle_request(self, request: Any) -> Any:
            return self._bridge.send_sync(request)

    class AsyncSimTransport(mod.AsyncBaseTransport):  # type: ignore[name-defined,misc]
        """An async transport into the simulated world."""

        def __init__(self, bridge: _Bridge) -> None:
            self._bridge = bridge

        async def handle_async_request(self, request: Any) -> Any:
            return await self._bridge.send_async(request)

    return SimTransport, AsyncSimTransport


def _stream_classes(mod: ModuleType) -> tuple[type, type]:
    class SimStream(mod.SyncByteStream):  # type: ignore[name-defined,misc]
        """A streamed body read by a sync client: each gap is a simulated wait."""

        def __init__(self, chunks: _Chunks, exchange: Exchange) -> None:
            self._chunks = chunks
            self._exchange = exchange

        def __iter__(self) -> Iterator[bytes]:
            env, clock = self._exchange.env, self._exchange.clock
            for gap, item in self._chunks.steps():
                if gap > 0:
                    clock.wait(env.timeout(gap))
                if isinstance(item, Exception):
                    self._chunks.ended(env.now)
                    raise item
                yield item
            self._chunks.ended(env.now)

    class AsyncSimStream(mod.AsyncByteStream):  # type: ignore[name-defined,misc]
        """A streamed body read by an async client: each gap is a simulated wait."""

        def __init__(self, chunks: _Chunks, exchange: Exchange) -> None:
            self._chunks = chunks
            self._exchange = exchange

        async def __aiter__(self) -> AsyncIterator[bytes]:
            env = self._exchange.env
            for gap, item in self._chunks.steps():
                if gap > 0:
                    await _event_done(env.timeout(gap))
                if isinstance(item, Exception):
                    self._chunks.ended(env.now)
                    raise item
                yield item
            self._chunks.ended(env.now)

    return SimStream, AsyncSimStream


def _http_modules() -> list[ModuleType]:
    mods = []
    for name in ("httpx", "httpx2"):
        with contextlib.suppress(ImportError):
            mods.append(importlib.import_module(name))
    return mods


_CLASSES: dict[str, tuple[type, type]] = {}
_STREAMS: dict[str, tuple[type, type]] = {}


class Network:
    """The run's HTTP plumbing: ready clients for ctx.http and patched default transports."""

    def __init__(self, exchange: Exchange) -> None:
        import httpx

        self.exchange = exchange
        self.background = Background()
        self._bridges = {mod.__name__: _Bridge(mod, exchange, self.background)
                         for mod in _http_modules()}
        for name in self._bridges:
            if name not in _CLASSES:
                _CLASSES[name] = _transport_classes(importlib.import_module(name))
                _STREAMS[name] = _stream_classes(importlib.import_module(name))
        sync_cls, async_cls = _CLASSES["httpx"]
        self._httpx = httpx
        self._sync_transport = sync_cls(self._bridges["httpx"])
        self._async_transport = async_cls(self._bridges["httpx"])

    def client(self, *, asynchronous: bool, timeout: float, module: str = "httpx") -> Any:
        """A ready client for ctx.http (httpx) or ctx.httpx2 (httpx2, for SDKs built on
        it, such as anthropic); None when that module is not installed."""
        if module == "httpx":
            if asynchronous:
                return self._httpx.AsyncClient(transport=self._async_transport, timeout=timeout)
            return self._httpx.Client(transport=self._sync_transport, timeout=timeout)
        bridge = self._bridges.get(module)
        if bridge is None:
            return None
        sync_cls, async_cls = _CLASSES[module]
        mod = bridge.mod
        if asynchronous:
            return mod.AsyncClient(transport=async_cls(bridge), timeout=timeout)
        return mod.Client(transport=sync_cls(bridge), timeout=timeout)

    @contextlib.contextmanager
    def patched(self) -> Iterator[None]:
        """Route every default httpx/httpx2 transport into the world for the run."""
        saved: list[tuple[type, str, Callable[..., Any]]] = []
        for name, bridge in self._bridges.items():
            mod = importlib.import_module(name)
            bridge.original_sync = mod.HTTPTransport.handle_request
            bridge.original_async = mod.AsyncHTTPTransport.handle_async_request
            saved.append((mod.HTTPTransport, "handle_request", bridge.original_sync))
            saved.append((mod.AsyncHTTPTransport, "handle_async_request",
                          bridge.original_async))
            mod.HTTPTransport.handle_request = (  # type: ignore[method-assign]
                lambda transport, request, b=bridge: b.send_sync(request, transport))
            mod.AsyncHTTPTransport.handle_async_request = (  # type: ignore[method-assign]
                lambda transport, request, b=bridge: b.send_async(request, transport))
        with contextlib.suppress(ImportError):
            import urllib3

            pool_cls = urllib3.connectionpool.HTTPConnectionPool
            saved.append((pool_cls, "urlopen", pool_cls.urlopen))
            pool_cls.urlopen = self._urllib3_urlopen(urllib3)  # type: ignore[method-assign]
        try:
            yield
        finally:
            for cls, attr, original in saved:
                setattr(cls, attr, original)

    def _urllib3_urlopen(self, urllib3: Any) -> Callable[..., Any]:
        """`urlopen` for urllib3 (under `requests`) during a run: never the network."""
        background, thread, world = self.background, self.exchange.clock.thread, \
            self.exchange.world

        def urlopen(pool: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            host = pool.host
            if background.wants(thread, host):
                background.count(host)
                return urllib3.HTTPResponse(
                    body=io.BytesIO(b"{}"), headers={"content-type": "application/json"},
                    status=202, reason="Accepted", preload_content=False,
                    decode_content=False)
            if host.endswith(SIM_DOMAIN):
                why = (f"simharness: {host!r} is simulated for httpx clients only; use "
                       "httpx (or ctx.http) for it")
            else:
                world.blocked(host)
                why = (f"simharness: real network is disabled during a simulation run; "
                       f"{host!r} is not a simulated host")
            raise urllib3.exceptions.MaxRetryError(
                pool, url, urllib3.exceptions.NewConnectionError(pool, why))

        return urlopen

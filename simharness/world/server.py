"""The simulated world over real HTTP on loopback, for agents in other processes.

An agent written in TypeScript, Go or Java cannot run on the simulated clock, so the world
comes to it: every simulated integration is served at `http://HOST:PORT/<name>` (`/llm/v1`
is the OpenAI-compatible API, `/crm/customers/{id}` the CRM, ...) in real time, with the
scenario's faults on their schedule. Each request is handed to the simulation thread
through an inbox; the world answers it after its simulated latency (scaled by the run's
speed), and a transport failure is what a real server would do: a refused or dropped
connection is the socket closed without an answer, a timeout is no answer until the
client gives up. A streamed answer (server-sent events) goes out with chunked transfer
encoding, each chunk when the world's clock produces it, so the time to first token is
real for the client; a stream the world drops ends with the connection closed after the
bytes sent and without the last chunk, which a client reads as a broken body.

Which ticket a request belongs to (for the model's judgement and for billing) is read
from an `X-Simharness-Ticket` header when the agent forwards the one its webhook carried,
and otherwise recognised: the LLM by the ticket's message texts in the request, a tool by
the ticket's customer id in the URL or body.
"""

from __future__ import annotations

import contextlib
import json
import math
import queue
import socket
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from .http import SIM_DOMAIN, SimRequest, SimResponse

#: Header a webhook carries and an agent may forward so its calls are billed exactly.
TICKET_HEADER = "x-simharness-ticket"
#: Header every webhook carries: the world's root URL (`http://HOST:PORT`), so an agent
#: need not be told where the world is.
WORLD_HEADER = "x-simharness-world"
#: Longest a served request waits for the world, in wall seconds (a `timeout` fault never
#: answers; the client's own timeout normally ends the wait much earlier).
MAX_WAIT = 3600.0


#: How a streamed body ends: complete (the terminating chunk), or dropped after the bytes
#: sent (the connection closes mid-body).
COMPLETE, DROPPED = "complete", "dropped"


@dataclass(slots=True, eq=False)
class Pending:
    """A request waiting for the world's answer; for a streamed answer, then its body."""

    request: SimRequest
    ticket: str | None
    done: threading.Event = field(default_factory=threading.Event)
    response: SimResponse | None = None
    #: A streamed body as the world produces it: bytes, then COMPLETE or DROPPED.
    parts: queue.SimpleQueue[bytes | str] = field(default_factory=queue.SimpleQueue)

    def answer(self, response: SimResponse) -> None:
        self.response = response
        self.done.set()

    def send(self, data: bytes) -> None:
        """The next part of a streamed body."""
        self.parts.put(data)

    def end(self, how: str) -> None:
        """End a streamed body: COMPLETE or DROPPED."""
        self.parts.put(how)

    def drop(self) -> None:
        """Cut off whatever is in flight (the world closed): no answer, or the rest of a
        streamed body."""
        if self.response is None:
            self.answer(SimResponse(failure="reset"))
        else:
            self.end(DROPPED)

    def next_part(self, timeout: float) -> bytes | str:
        try:
            return self.parts.get(timeout=timeout)
        except queue.Empty:
            return DROPPED


class Inbox:
    """Work for the simulation thread from other threads: world requests and callbacks."""

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[Pending | Callable[[], None]] = queue.SimpleQueue()

    def put(self, item: Pending | Callable[[], None]) -> None:
        self._queue.put(item)

    def get(self, timeout: float) -> Pending | Callable[[], None] | None:
        try:
            return self._queue.get(timeout=max(timeout, 0.0))
        except queue.Empty:
            return None


def _handler(server: WorldServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "simharness"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # the run's records are the log

        def _serve(self) -> None:
            name, _, rest = self.path.lstrip("/").partition("/")
            path, _, query = ("/" + rest).partition("?")
            length = int(self.headers.get("content-length") or 0)
            body = self.rfile.read(length) if length else b""
            if name not in server.names:
                self._send(SimResponse(404, json.dumps({"error": {
                    "message": f"no simulated service {name!r}; known: "
                               f"{', '.join(server.base_urls.values())}"}}).encode(),
                    [("content-type", "application/json")]))
                return
            headers = httpx.Headers(list(self.headers.items()))
            request = SimRequest(self.command, name + SIM_DOMAIN, path, query, headers, body,
                                 math.nan, math.nan)  # the client's timeouts are its own
            pending = Pending(request, headers.get(TICKET_HEADER))
            server.inbox.put(pending)
            if not pending.done.wait(MAX_WAIT) or pending.response is None:
                self._drop()
                return
            self._send(pending.response, pending)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def _send(self, response: SimResponse, pending: Pending | None = None) -> None:
            """The response; a streamed body comes from `pending` as the world makes it."""
            if response.failure is not None:
                self._drop()
                return
            self.send_response(response.status)
            length = None
            for key, value in response.headers:
                if key.lower() == "content-length":
                    length = value
                elif key.lower() not in ("connection", "transfer-encoding"):
                    self.send_header(key, value)
            if response.stream is not None and pending is not None:
                self._stream(pending, length)
                return
            self.send_header("content-length", str(len(response.body)))
            self.end_headers()
            self.wfile.write(response.body)

        def _stream(self, pending: Pending, length: str | None) -> None:
            """A streamed body, part by part as the world produces it: of the given length
            (a body that trickles in), else with chunked transfer encoding (an HTTP/1.0
            client gets a body that ends where the connection closes)."""
            chunked = length is None and self.request_version != "HTTP/1.0"
            if length is not None:
                self.send_header("content-length", length)
            elif chunked:
                self.send_header("transfer-encoding", "chunked")
            else:
                self.close_connection = True
            self.end_headers()
            try:
                while isinstance(part := pending.next_part(MAX_WAIT), bytes):
                    if part:
                        self.wfile.write(b"%x\r\n%b\r\n" % (len(part), part)
                                         if chunked else part)
                if part == COMPLETE:
                    if chunked:
                        self.wfile.write(b"0\r\n\r\n")
                    return
            except OSError:
                pass  # the client hung up (its own timeout, or it stopped reading)
            self._hang_up()

        def _hang_up(self) -> None:
            """Close the connection after what was sent, mid-body: the client gets every
            byte, then an end of stream before the body is complete."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_WR)

        def _drop(self) -> None:
            """Close the connection without an answer, as a refused or reset one looks."""
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                           b"\x01\x00\x00\x00\x00\x00\x00\x00")
                self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


class WorldServer:
    """Serves the named simulated services on `host:port` (port 0: any free port)."""

    def __init__(self, names: Iterable[str], inbox: Inbox, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        self.names = list(names)
        self.inbox = inbox
        self._httpd = ThreadingHTTPServer((host, port), _handler(self))
        self._httpd.daemon_threads = True
        bound_host, bound_port = self._httpd.server_address[:2]
        self.host = bound_host if isinstance(bound_host, str) else bytes(bound_host).decode()
        self.port = int(bound_port)
        self._thread: threading.Thread | None = None

    @property
    def root(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def base_urls(self) -> dict[str, str]:
        return {name: f"{self.root}/{name}" for name in self.names}

    def __enter__(self) -> WorldServer:
        self._thread = threading.Thread(target=self._httpd.serve_forever,
                                        name="simharness-world-server", daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        if self._thread is not None:
            self._thread.join()


def request_text(body: bytes) -> str:
    """Every string in a JSON body, joined (what a model would read), else the raw text."""
    try:
        data = json.loads(body)
    except ValueError:
        return body.decode("utf-8", "replace")
    parts: list[str] = []

    def walk(node: Any) -> None:
        if isinstance(node, str):
            parts.append(node)
        elif isinstance(node, dict):
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(data)
    return "\n".join(parts)

"""The simulated world over real HTTP on loopback, for agents in other processes.

An agent written in TypeScript, Go or Java cannot run on the simulated clock, so the world
comes to it: every simulated integration is served at `http://HOST:PORT/<name>` (`/llm/v1`
is the OpenAI-compatible API, `/crm/customers/{id}` the CRM, ...) in real time, with the
scenario's faults on their schedule. Each request is handed to the simulation thread
through an inbox; the world answers it after its simulated latency (scaled by the run's
speed), and a transport failure is what a real server would do: a refused or dropped
connection is the socket closed without an answer, a timeout is no answer until the
client gives up.

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


@dataclass(slots=True, eq=False)
class Pending:
    """A request waiting for the world's answer."""

    request: SimRequest
    ticket: str | None
    done: threading.Event = field(default_factory=threading.Event)
    response: SimResponse | None = None

    def answer(self, response: SimResponse) -> None:
        self.response = response
        self.done.set()


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
            self._send(pending.response)

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _serve

        def _send(self, response: SimResponse) -> None:
            if response.failure is not None:
                self._drop()
                return
            body, stream = response.body, response.stream
            if stream is not None:  # sent whole once the world has produced it
                body = b"".join(chunk for _gap, chunk in stream.chunks)
            self.send_response(response.status)
            for key, value in response.headers:
                if key.lower() not in ("content-length", "connection"):
                    self.send_header(key, value)
            if stream is not None and stream.ending == "reset":
                self.end_headers()  # no length: the body ends where the connection drops
                self.wfile.write(body)
                self._drop()
                return
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

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

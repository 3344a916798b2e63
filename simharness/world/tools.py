"""Simulated tools (APIs the agent calls): the CRM, and the user's own integrations.

Every tool is an HTTP service with its own latency; the world puts capacity and faults on
top. A tool's endpoints come from the built-in CRM, from YAML `routes:`, a respx router or a
VCR.py cassette (`tool_routes`, `tool_respx`, `tool_cassette`); whatever the form, a request
no endpoint matches gets a 404 whose body lists the known routes, and is counted, because
an agent calling an endpoint nobody simulated is a finding, not a crash.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..rng import BufferedSampler, numpy_stream
from ..traffic.ticket import Customer, Ticket
from .http import SimResponse
from .json_text import dumps

_JSON = [("content-type", "application/json")]
#: Unmatched requests remembered per tool for the results (all are counted).
LISTED_UNMATCHED = 20
#: Response headers never served from recorded or user data: they carry credentials.
_SECRET_HEADER = re.compile(r"^(set-cookie|cookie|authorization|proxy-authorization)$|"
                            r"token|secret|api[-_]?key|auth|session|password|signature|"
                            r"credential", re.IGNORECASE)


class ToolSetupError(Exception):
    """A tool that cannot be built (a respx router that does not import, a broken
    cassette); `field` is the path under `world.tools.<tool>`."""

    def __init__(self, tool: str, field: tuple[str | int, ...], message: str) -> None:
        super().__init__(message)
        self.tool = tool
        self.field = field
        self.message = message


def is_secret_header(name: str) -> bool:
    """Whether a header may carry a credential (it is never echoed to agents or reports)."""
    return bool(_SECRET_HEADER.search(name))


def json_response(status: int, data: Any,
                  headers: list[tuple[str, str]] | None = None) -> SimResponse:
    return SimResponse(status, dumps(data).encode(), [*_JSON, *(headers or [])])


@dataclass(slots=True)
class ToolRequest:
    """A request to a tool, with the ticket being handled (for templates and customers)."""

    method: str
    path: str
    query: str
    headers: Mapping[str, str]
    body: bytes
    ticket: Ticket | None = None


class ToolService:
    """A tool with its own latency distribution; answers `GET /health`."""

    def __init__(self, name: str, config: Any, seed: int) -> None:
        self.name = name
        self.config = config
        self.latency = BufferedSampler(config.latency, numpy_stream(seed, "tool", name, "latency"))
        self.calls = 0
        self.unmatched = 0
        self.unmatched_requests: dict[str, int] = {}

    def serve(self, request: ToolRequest) -> tuple[SimResponse, bool]:
        """The response, and whether an endpoint matched (else it is the listing 404)."""
        self.calls += 1
        if request.path in ("/", "/health") and request.method == "GET":
            return json_response(200, {"status": "ok", "tool": self.name}), True
        response = self.handle(request)
        if response is not None:
            return response, True
        self.unmatched += 1
        key = f"{request.method} {request.path}"
        if key in self.unmatched_requests or len(self.unmatched_requests) < LISTED_UNMATCHED:
            self.unmatched_requests[key] = self.unmatched_requests.get(key, 0) + 1
        return json_response(404, {
            "error": f"no route matches {request.method} {request.path} on the simulated tool "
                     f"{self.name!r}",
            "known_routes": ["GET /health", *self.known_routes()]}), False

    def handle(self, request: ToolRequest) -> SimResponse | None:
        """The tool's answer, or None when no endpoint matches."""
        return None

    def known_routes(self) -> list[str]:
        """Endpoints for the 404 listing: 'METHOD /path' (never a credential)."""
        return []

    def stats(self) -> dict[str, Any]:
        return {"calls": self.calls, "unmatched": self.unmatched,
                "unmatched_requests": dict(self.unmatched_requests)}


class CRMService(ToolService):
    """`GET /customers/{id}` returns the customer's tier and account value."""

    def __init__(self, name: str, config: Any, seed: int,
                 customers: Mapping[str, Customer]) -> None:
        super().__init__(name, config, seed)
        self.customers = customers

    def handle(self, request: ToolRequest) -> SimResponse | None:
        if not request.path.startswith("/customers/"):
            return None
        if request.method != "GET":
            return json_response(405, {"error": "method not allowed"}, [("allow", "GET")])
        customer = self.customers.get(request.path[len("/customers/"):])
        if customer is None:
            return json_response(404, {"error": "customer not found"})
        return json_response(200, {"id": customer.id, "name": customer.name,
                                   "email": customer.email, "tier": customer.tier,
                                   "account_value": customer.account_value})

    def known_routes(self) -> list[str]:
        return ["GET /customers/{id}"]


def build_tool(name: str, config: Any, seed: int, customers: Mapping[str, Customer],
               base_dir: Path) -> ToolService:
    """The service for `world.tools.<name>`, from whichever form its config gives."""
    if config.routes is not None:
        from .tool_routes import RoutesService

        return RoutesService(name, config, seed)
    if config.respx is not None:
        from .tool_respx import RespxService

        return RespxService(name, config, seed)
    if config.cassette is not None:
        from .tool_cassette import CassetteService

        return CassetteService(name, config, seed, base_dir)
    if name == "crm":
        return CRMService(name, config, seed, customers)
    return ToolService(name, config, seed)

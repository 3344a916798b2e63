"""A tool whose endpoints are written in the scenario (`routes:`): a method, a path pattern
with `{name}` parameters, and a response template.

Templates fill `{name}` from the path, `{customer.*}` and `{ticket.*}` from the ticket being
handled, `{query.*}` and `{body.*}` from the request, so a simulated order lookup answers
about the order the agent asked for and the customer who wrote in.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qs, unquote

from ..traffic.ticket import Ticket
from .http import SimResponse
from .templates import PLACEHOLDER, path_regex
from .tools import ToolRequest, ToolService, json_response


class _Context:
    """What a template can read for one request."""

    def __init__(self, params: dict[str, str], request: ToolRequest) -> None:
        self.params = params
        self.request = request
        self._query: dict[str, list[str]] | None = None
        self._body: Any = ...

    def value(self, name: str) -> Any:
        if name in self.params:
            return self.params[name]
        head, _, rest = name.partition(".")
        ticket: Ticket | None = self.request.ticket
        if head == "customer":
            return getattr(ticket.customer, rest) if ticket is not None else None
        if head == "ticket":
            return getattr(ticket, rest) if ticket is not None else None
        if head == "query":
            if self._query is None:
                self._query = parse_qs(self.request.query)
            values = self._query.get(rest)
            return values[0] if values else None
        if head == "body":
            if self._body is ...:
                try:
                    self._body = json.loads(self.request.body or b"null")
                except ValueError:
                    self._body = None
            node = self._body
            for part in rest.split("."):
                node = node.get(part) if isinstance(node, dict) else None
            return node
        return None

    def render(self, template: Any) -> Any:
        if isinstance(template, str):
            whole = PLACEHOLDER.fullmatch(template)
            if whole:
                return self.value(whole.group(1))  # keeps numbers numbers
            return PLACEHOLDER.sub(lambda m: _text(self.value(m.group(1))), template)
        if isinstance(template, dict):
            return {self.render(k): self.render(v) for k, v in template.items()}
        if isinstance(template, list):
            return [self.render(v) for v in template]
        return template


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


class _Route:
    def __init__(self, spec: Any) -> None:
        self.spec = spec
        self.method = spec.method
        self.regex = path_regex(spec.path)

    def match(self, path: str) -> dict[str, str] | None:
        found = self.regex.match(path)
        return None if found is None else {k: unquote(v) for k, v in
                                           found.groupdict().items()}

    def respond(self, params: dict[str, str], request: ToolRequest) -> SimResponse:
        context = _Context(params, request)
        headers = [(k, _text(context.render(v))) for k, v in self.spec.headers.items()]
        if self.spec.body is not None:
            body = _text(context.render(self.spec.body)).encode()
            return SimResponse(self.spec.status, body,
                               [("content-type", "text/plain; charset=utf-8"), *headers])
        if self.spec.json_ is None:
            return SimResponse(self.spec.status, b"", headers)
        return json_response(self.spec.status, context.render(self.spec.json_), headers)


class RoutesService(ToolService):
    """Endpoints from YAML; a known path with another method is a 405 with `Allow`."""

    def __init__(self, name: str, config: Any, seed: int) -> None:
        super().__init__(name, config, seed)
        self.routes = [_Route(spec) for spec in config.routes]

    def handle(self, request: ToolRequest) -> SimResponse | None:
        allowed = []
        for route in self.routes:
            params = route.match(request.path)
            if params is None:
                continue
            if route.method == request.method:
                return route.respond(params, request)
            allowed.append(route.method)
        if allowed:
            return json_response(405, {"error": f"method {request.method} not allowed on "
                                                f"{request.path}"},
                                 [("allow", ", ".join(dict.fromkeys(allowed)))])
        return None

    def known_routes(self) -> list[str]:
        return [f"{r.spec.method} {r.spec.path}" for r in self.routes]

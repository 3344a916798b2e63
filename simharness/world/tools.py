"""Simulated tools (APIs the agent calls): the CRM, and generic endpoints."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from ..rng import BufferedSampler, numpy_stream
from ..traffic.ticket import Customer
from .http import SimResponse

_JSON = [("content-type", "application/json")]


def _json(status: int, data: Any) -> SimResponse:
    return SimResponse(status, json.dumps(data).encode(), list(_JSON))


class ToolService:
    """A tool with its own latency distribution. Unknown paths answer 404."""

    def __init__(self, name: str, config: Any, seed: int) -> None:
        self.name = name
        self.config = config
        self.latency = BufferedSampler(config.latency, numpy_stream(seed, "tool", name, "latency"))

    def handle(self, method: str, path: str, body: bytes) -> SimResponse:
        if path in ("/", "/health"):
            return _json(200, {"status": "ok", "tool": self.name})
        return _json(404, {"error": f"no route {method} {path} on {self.name}"})


class CRMService(ToolService):
    """`GET /customers/{id}` returns the customer's tier and account value."""

    def __init__(self, name: str, config: Any, seed: int,
                 customers: Mapping[str, Customer]) -> None:
        super().__init__(name, config, seed)
        self.customers = customers

    def handle(self, method: str, path: str, body: bytes) -> SimResponse:
        if path.startswith("/customers/"):
            if method != "GET":
                return _json(405, {"error": "method not allowed"})
            customer = self.customers.get(path[len("/customers/"):])
            if customer is None:
                return _json(404, {"error": "customer not found"})
            return _json(200, {"id": customer.id, "name": customer.name, "email": customer.email,
                               "tier": customer.tier, "account_value": customer.account_value})
        return super().handle(method, path, body)

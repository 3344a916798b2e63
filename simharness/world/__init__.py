"""The simulated world: LLM tiers and tools behind HTTP, with faults layered on top."""

from __future__ import annotations

import json
from collections.abc import Generator
from datetime import datetime
from typing import Any

import simpy

from ..records import current_scope
from ..traffic.ticket import Customer
from .faults import FaultPlan
from .http import SIM_DOMAIN, SimRequest, SimResponse
from .llm import LLMService
from .tools import CRMService, ToolService

__all__ = ["SimWorld", "SimRequest", "SimResponse"]


class SimWorld:
    """Routes each simulated host to its service and applies the fault plan first."""

    def __init__(self, env: simpy.Environment, world: Any, routes: list[str], seed: int,
                 epoch: datetime, customers: dict[str, Customer], faults: FaultPlan) -> None:
        self.env = env
        self.faults = faults
        self.llm = LLMService(world.llm, routes, seed, epoch.timestamp())
        self.tools: dict[str, ToolService] = {}
        for name, config in world.tools.items():
            if name == "crm":
                self.tools[name] = CRMService(name, config, seed, customers)
            else:
                self.tools[name] = ToolService(name, config, seed)
        self._capacity: dict[str, simpy.Resource] = {}
        for name, tier in world.llm.tiers.items():
            if tier.capacity:
                self._capacity["llm." + name] = simpy.Resource(env, tier.capacity)
        for name, config in world.tools.items():
            if config.capacity:
                self._capacity["tools." + name] = simpy.Resource(env, config.capacity)
        self.blocked_hosts: dict[str, int] = {}

    @property
    def base_urls(self) -> dict[str, str]:
        urls = {"llm": f"http://llm{SIM_DOMAIN}"}
        urls.update({name: f"http://{name}{SIM_DOMAIN}" for name in self.tools})
        return urls

    def blocked(self, host: str) -> None:
        self.blocked_hosts[host] = self.blocked_hosts.get(host, 0) + 1

    def serve(self, request: SimRequest) -> tuple[float, SimResponse] | simpy.Event:
        scope = current_scope.get()
        name = request.host[: -len(SIM_DOMAIN)]
        now = self.env.now
        if scope is not None:
            scope.count_call(request.method, request.host + request.path, request.body)
        if name == "llm":
            try:
                body = json.loads(request.body) if request.body else None
            except ValueError:
                body = None
            target, tier = self.llm.target(body)
            fault = self.faults.intercept(target, request.method, request.path, now, scope)
            if fault is not None:
                return fault
            answer = self.llm.complete(request.path, body, tier, now, scope)
        elif name in self.tools:
            target = "tools." + name
            fault = self.faults.intercept(target, request.method, request.path, now, scope)
            if fault is not None:
                return fault
            tool = self.tools[name]
            answer = tool.latency(), tool.handle(request.method, request.path, request.body)
        else:
            return 0.005, SimResponse(failure="connect", detail=f"unknown simulated host "
                                      f"{request.host!r}; known: {', '.join(self.base_urls)}")
        resource = self._capacity.get(target)
        if resource is None:
            return answer
        return self.env.process(self._queued(resource, *answer))

    def _queued(self, resource: simpy.Resource, latency: float,
                response: SimResponse) -> Generator[simpy.Event, Any, SimResponse]:
        with resource.request() as slot:
            yield slot
            yield self.env.timeout(latency)
        return response

"""The simulated world: LLM tiers and tools behind HTTP, with faults layered on top."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

import simpy
from simpy.events import URGENT

from fault_injectors import Call

from ..records import current_scope
from ..traffic.ticket import Customer
from .faults import FaultPlan, ScheduledFault
from .http import SIM_DOMAIN, SimRequest, SimResponse
from .llm import LLMService
from .tools import ToolRequest, ToolService, build_tool

__all__ = ["SimWorld", "SimRequest", "SimResponse"]


class SimWorld:
    """Routes each simulated host to its service and applies the fault plan first."""

    def __init__(self, env: simpy.Environment, world: Any, routes: list[str], seed: int,
                 epoch: datetime, customers: Mapping[str, Customer], faults: FaultPlan,
                 base_dir: Path | None = None) -> None:
        self.env = env
        self.faults = faults
        self.llm = LLMService(world.llm, routes, seed, epoch.timestamp(),
                              world.escalation.account_value_at_least)
        self.tools: dict[str, ToolService] = {
            name: build_tool(name, config, seed, customers, base_dir or Path.cwd())
            for name, config in world.tools.items()}
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

    def tool_stats(self) -> dict[str, dict[str, Any]]:
        """Calls and unmatched requests per tool, for the results."""
        return {name: tool.stats() for name, tool in self.tools.items()}

    def blocked(self, host: str) -> None:
        self.blocked_hosts[host] = self.blocked_hosts.get(host, 0) + 1

    def serve(self, request: SimRequest) -> tuple[float, SimResponse] | simpy.Event:
        scope = current_scope.get()
        name = request.host[: -len(SIM_DOMAIN)]
        if scope is not None:
            scope.count_call(request.method, request.host + request.path, request.body)
        call = Call(target="", method=request.method, path=request.path, now=self.env.now,
                    read_timeout=request.read_timeout)
        if name == "llm":
            prepared = self.llm.prepare(request)
            call.target, call.tokens_in = prepared.target, prepared.tokens_in
        elif name in self.tools:
            call.target = "tools." + name
        else:
            return 0.005, SimResponse(failure="connect", detail=f"unknown simulated host "
                                      f"{request.host!r}; known: {', '.join(self.base_urls)}")
        faults = self.faults.for_call(call.target, call.now, scope)
        for fault in faults:
            self._describe(call, fault)
            answer = fault.injector.before(call)
            if answer is not None:
                if scope is not None:
                    scope.touched_by(fault.name)
                if name == "llm":
                    return answer[0], self.llm.reshape(prepared, answer[1], call.now)
                return answer
        if name == "llm":
            latency, response = self.llm.serve(call, prepared, scope, faults)
        else:
            tool = self.tools[name]
            ticket = scope.ticket if scope is not None else None
            latency = tool.latency()
            response, matched = tool.serve(ToolRequest(request.method, request.path,
                                                       request.query, request.headers,
                                                       request.body, ticket))
            if not matched and scope is not None:
                scope.record.log.append(f"[{self.env.now:.3f}s] harness: {request.method} "
                                        f"{request.host}{request.path} matched no route of "
                                        f"the simulated tool {name!r}")
        for fault in faults:
            if fault.changes_response:
                self._describe(call, fault)
                latency, response = fault.injector.after(call, latency, response)
                if scope is not None:
                    scope.touched_by(fault.name)
                if name == "llm":
                    response = self.llm.reshape(prepared, response, call.now)
        resource = self._capacity.get(call.target)
        if resource is None:
            return latency, response
        return self._queued(resource, latency, response)

    @staticmethod
    def _describe(call: Call, fault: ScheduledFault) -> None:
        """Tell the injector where in its schedule this call falls."""
        schedule = fault.schedule
        start = schedule.span_start(call.now)
        call.window_start = schedule.start if start is None else start
        call.window_end = schedule.end
        call.intensity = schedule.intensity(call.now)

    def _queued(self, resource: simpy.Resource, latency: float,
                response: SimResponse) -> simpy.Event:
        """An event whose value is the response, `latency` after a slot of `resource` is
        granted: event for event what a SimPy process doing `with resource.request() as
        slot: yield slot; yield env.timeout(latency)` does (an urgent start, the request,
        the timeout, the release, then its end), so the schedule is the same, without a
        process and its generator for every call to a capacity-limited host."""
        env = self.env
        done = env.event()

        def start(_event: simpy.Event) -> None:
            slot = resource.request()

            def granted(_event: simpy.Event) -> None:
                def finished(_event: simpy.Event) -> None:
                    resource.release(slot)
                    done.succeed(response)

                env.timeout(latency).callbacks.append(finished)

            slot.callbacks.append(granted)  # type: ignore[union-attr]

        begin = env.event()
        begin._ok = True
        begin._value = None
        begin.callbacks.append(start)  # type: ignore[union-attr]
        env.schedule(begin, URGENT)
        return done

"""pydantic-ai: an `Agent` with a typed output, dependencies and a CRM tool.

As in pydantic-ai's docs (the "bank support" and "weather" examples): the agent is
declared once with `output_type`, `deps_type` and `instructions`; the CRM lookup is a tool
that reads its HTTP client from `RunContext.deps`; each ticket is one `agent.run(...)`
(async) or `agent.run_sync(...)` (sync). `output_type=TicketRouting` is pydantic-ai's
default tool output (the answer is a call to a `final_result` tool);
`NativeOutput(TicketRouting)` asks for the model's JSON Schema output instead.
The model comes per run (`model=`), because the simulated endpoint comes with `ctx`.

Knob: `OpenAIChatModel("large", provider=OpenAIProvider(openai_client=AsyncOpenAI(
base_url=ctx.base_urls["llm"] + "/v1", http_client=ctx.http)))`; sync agents have no async
client in `ctx`, so they give `OpenAIProvider(base_url=..., api_key=...)` and let it build
its own (every httpx client reaches the simulated world during a run).

    simharness run scenarios/baseline.yaml --agent examples.frameworks.pydantic_ai_agent:Router
    ... :NativeRouter, :SyncRouter, :SyncNativeRouter
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import httpx
from openai import AsyncOpenAI
from pydantic_ai import Agent, NativeOutput, RunContext, Tool
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider

from examples.frameworks.support import INSTRUCTIONS, MODEL, TicketRouting, decision, ticket_prompt
from simharness import Decision


@dataclass
class Deps:
    """What the tools need: an HTTP client and where the CRM lives."""

    http: Any  # httpx.AsyncClient for agent.run, httpx.Client for agent.run_sync
    crm_url: str


async def lookup_customer(ctx: RunContext[Deps], customer_id: str) -> dict[str, Any]:
    """Look up a customer in the CRM: their tier and account value.

    Args:
        customer_id: The customer id written on the ticket.
    """
    response: httpx.Response = await ctx.deps.http.get(
        f"{ctx.deps.crm_url}/customers/{customer_id}", timeout=10)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


def lookup_customer_sync(ctx: RunContext[Deps], customer_id: str) -> dict[str, Any]:
    """Look up a customer in the CRM: their tier and account value.

    Args:
        customer_id: The customer id written on the ticket.
    """
    response: httpx.Response = ctx.deps.http.get(
        f"{ctx.deps.crm_url}/customers/{customer_id}", timeout=10)
    response.raise_for_status()
    return response.json()  # type: ignore[no-any-return]


router = Agent(output_type=TicketRouting, deps_type=Deps, instructions=INSTRUCTIONS,
               tools=[Tool(lookup_customer)], name="support_router")
native_router = Agent(output_type=NativeOutput(TicketRouting), deps_type=Deps,
                      instructions=INSTRUCTIONS, tools=[Tool(lookup_customer)],
                      name="support_router_native")
sync_router = Agent(output_type=TicketRouting, deps_type=Deps, instructions=INSTRUCTIONS,
                    tools=[Tool(lookup_customer_sync, name="lookup_customer")],
                    name="support_router_sync")
sync_native_router = Agent(output_type=NativeOutput(TicketRouting), deps_type=Deps,
                           instructions=INSTRUCTIONS,
                           tools=[Tool(lookup_customer_sync, name="lookup_customer")],
                           name="support_router_sync_native")


class Router:
    """`await agent.run(...)` with the default (tool) output."""

    agent: Agent[Deps, TicketRouting] = router

    def __init__(self) -> None:
        self.model: OpenAIChatModel | None = None

    async def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.model is None:
            client = AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                 http_client=ctx.http)
            self.model = OpenAIChatModel(MODEL, provider=OpenAIProvider(openai_client=client))
        result = await self.agent.run(ticket_prompt(payload, ctx), model=self.model,
                                      deps=Deps(http=ctx.http, crm_url=ctx.base_urls["crm"]))
        return decision(result.output, f"pydantic-ai {self.agent.name} run")


class NativeRouter(Router):
    """`await agent.run(...)` with `NativeOutput`."""

    agent = native_router


class SyncRouter:
    """`agent.run_sync(...)` with the default (tool) output, from a sync agent."""

    agent: Agent[Deps, TicketRouting] = sync_router

    def __init__(self) -> None:
        self.model: OpenAIChatModel | None = None

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.model is None:
            provider = OpenAIProvider(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim")
            self.model = OpenAIChatModel(MODEL, provider=provider)
        result = self.agent.run_sync(ticket_prompt(payload, ctx), model=self.model,
                                     deps=Deps(http=ctx.http, crm_url=ctx.base_urls["crm"]))
        return decision(result.output, f"pydantic-ai {self.agent.name} run_sync")


class SyncNativeRouter(SyncRouter):
    """`agent.run_sync(...)` with `NativeOutput`."""

    agent = sync_native_router

"""openai-agents: an `Agent` with `output_type` and a `@function_tool` that calls the CRM.

As in the OpenAI Agents SDK docs: the agent is declared with `instructions`,
`output_type=TicketRouting` (the SDK's structured output, a strict JSON Schema) and a
`@function_tool` whose parameters and description come from its signature and docstring;
it reads the HTTP client from the run context (`RunContextWrapper[Deps]`). Each ticket is
one `await Runner.run(...)` (`Router`) or `Runner.run_sync(...)` (`SyncRouter`, whose tool is
a plain `def`, which the SDK runs on a worker thread). The SDK's default model API, the
Responses API, is used.

Knob, as in the SDK's "custom model provider" example: `set_default_openai_client(
AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim", http_client=ctx.http),
use_for_tracing=False)` and `set_tracing_disabled(True)` (no trace upload without an
OpenAI key).

    simharness run scenarios/baseline.yaml --agent examples.frameworks.openai_agents_agent:Router
    simharness run scenarios/baseline.yaml \
        --agent examples.frameworks.openai_agents_agent:SyncRouter
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from agents import (
    Agent,
    RunContextWrapper,
    Runner,
    function_tool,
    set_default_openai_client,
    set_tracing_disabled,
)
from openai import AsyncOpenAI

from examples.frameworks.support import INSTRUCTIONS, MODEL, TicketRouting, decision, ticket_prompt
from simharness import Decision


@dataclass
class Deps:
    """The run context the tools read: an HTTP client and where the CRM lives."""

    http: Any  # httpx.AsyncClient for Runner.run, httpx.Client for Runner.run_sync
    crm_url: str


@function_tool
async def lookup_customer(wrapper: RunContextWrapper[Deps], customer_id: str) -> str:
    """Look up a customer in the CRM: their tier and account value.

    Args:
        customer_id: The customer id written on the ticket.
    """
    response = await wrapper.context.http.get(
        f"{wrapper.context.crm_url}/customers/{customer_id}", timeout=10)
    return str(response.text)


@function_tool(name_override="lookup_customer")
def lookup_customer_sync(wrapper: RunContextWrapper[Deps], customer_id: str) -> str:
    """Look up a customer in the CRM: their tier and account value.

    Args:
        customer_id: The customer id written on the ticket.
    """
    response = wrapper.context.http.get(
        f"{wrapper.context.crm_url}/customers/{customer_id}", timeout=10)
    return str(response.text)


support_agent = Agent[Deps](
    name="Support router",
    instructions=INSTRUCTIONS,
    model=MODEL,
    output_type=TicketRouting,
    tools=[lookup_customer],
)
sync_support_agent = support_agent.clone(tools=[lookup_customer_sync])


class Router:
    """`await Runner.run(...)` from an async agent."""

    def __init__(self) -> None:
        self.configured = False

    async def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if not self.configured:
            client = AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                 http_client=ctx.http)
            set_default_openai_client(client, use_for_tracing=False)
            set_tracing_disabled(True)
            self.configured = True
        result = await Runner.run(support_agent, ticket_prompt(payload, ctx),
                                  context=Deps(http=ctx.http, crm_url=ctx.base_urls["crm"]))
        return decision(result.final_output_as(TicketRouting), "openai-agents Runner.run")


class SyncRouter:
    """`Runner.run_sync(...)` from a sync agent; the SDK's client is its own."""

    def __init__(self) -> None:
        self.configured = False

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if not self.configured:
            client = AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim")
            set_default_openai_client(client, use_for_tracing=False)
            set_tracing_disabled(True)
            self.configured = True
        result = Runner.run_sync(sync_support_agent, ticket_prompt(payload, ctx),
                                 context=Deps(http=ctx.http, crm_url=ctx.base_urls["crm"]))
        return decision(result.final_output_as(TicketRouting), "openai-agents Runner.run_sync")

"""The anthropic SDK's tool use loop, as in Anthropic's tool use guide.

The model gets `lookup_customer` and `route_ticket` (whose input is the answer, the guide's
"tools for JSON output" pattern) with `tool_choice={"type": "any"}`. While the response
stops for `tool_use`, the agent runs the CRM lookup and sends `tool_result` blocks back in a
user turn; the loop ends at the `route_ticket` call. The anthropic SDK is built on httpx2,
so the agent lets it build its own HTTP client (every httpx/httpx2 client reaches the
simulated world during a run). Knob: `Anthropic(base_url=ctx.base_urls["llm"],
api_key="sim")` (the SDK adds `/v1/messages`).

    simharness run scenarios/baseline.yaml --agent examples.frameworks.anthropic_tools:Router
"""

from __future__ import annotations

from typing import Any

import anthropic

from examples.frameworks.support import (
    INSTRUCTIONS,
    MODEL,
    CustomerLookup,
    TicketRouting,
    crm_url,
    decision,
    ticket_prompt,
)
from simharness import Decision

TOOLS: list[Any] = [
    {
        "name": "lookup_customer",
        "description": "Look up a customer in the CRM: their tier and account value.",
        "input_schema": CustomerLookup.model_json_schema(),
    },
    {
        "name": "route_ticket",
        "description": "Send the ticket to the team(s) that handle it.",
        "input_schema": TicketRouting.model_json_schema(),
    },
]

MAX_TURNS = 5


class Router:
    """Messages API with tools, sync."""

    def __init__(self) -> None:
        self.client: anthropic.Anthropic | None = None

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.client is None:
            self.client = anthropic.Anthropic(base_url=ctx.base_urls["llm"], api_key="sim")
        messages: list[Any] = [{"role": "user", "content": ticket_prompt(payload, ctx)}]
        for _ in range(MAX_TURNS):
            response = self.client.messages.create(
                model=MODEL, max_tokens=1024, system=INSTRUCTIONS, messages=messages,
                tools=TOOLS, tool_choice={"type": "any"})
            results: list[dict[str, Any]] = []
            for block in response.content:
                if block.type != "tool_use":
                    continue
                if block.name == "route_ticket":
                    return decision(TicketRouting.model_validate(block.input), "anthropic tools")
                lookup = CustomerLookup.model_validate(block.input)
                customer = ctx.http.get(crm_url(ctx, lookup.customer_id), timeout=10)
                results.append({"type": "tool_result", "tool_use_id": block.id,
                                "content": customer.text})
            messages.append({"role": "assistant", "content": response.content})
            messages.append({"role": "user", "content": results})
        raise RuntimeError(f"no route_ticket call in {MAX_TURNS} turns")

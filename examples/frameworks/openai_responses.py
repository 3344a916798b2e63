"""The Responses API with the openai SDK (async): function calling and `responses.parse`.

As in OpenAI's function calling guide for the Responses API: the request carries
`instructions`, the conversation as `input` items and a `lookup_customer` function tool;
each `function_call` item in `response.output` is run and answered with a
`function_call_output` item, and the loop asks again. `text_format=TicketRouting` makes the
final answer a strict JSON Schema output, read from `response.output_parsed`.
Knob: `AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", http_client=ctx.http)`.

    simharness run scenarios/baseline.yaml --agent examples.frameworks.openai_responses:Router
"""

from __future__ import annotations

from typing import Any

from openai import AsyncOpenAI

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
        "type": "function",
        "name": "lookup_customer",
        "description": "Look up a customer in the CRM: their tier and account value.",
        "parameters": {
            "type": "object",
            "properties": {
                "customer_id": {"type": "string",
                                "description": "The customer id written on the ticket."},
            },
            "required": ["customer_id"],
            "additionalProperties": False,
        },
        "strict": True,
    },
]

MAX_TURNS = 5


class Router:
    """`responses.parse` with a function tool, async."""

    def __init__(self) -> None:
        self.client: AsyncOpenAI | None = None

    async def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.client is None:
            self.client = AsyncOpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                      http_client=ctx.http)
        items: list[Any] = [{"role": "user", "content": ticket_prompt(payload, ctx)}]
        for _ in range(MAX_TURNS):
            response = await self.client.responses.parse(
                model=MODEL, instructions=INSTRUCTIONS, input=items, tools=TOOLS,
                text_format=TicketRouting)
            calls = [item for item in response.output if item.type == "function_call"]
            if not calls:
                if response.output_parsed is None:
                    raise RuntimeError(f"no parsed output: {response.output_text!r:.200}")
                return decision(response.output_parsed, "openai responses.parse")
            items += response.output
            for call in calls:
                customer_id = CustomerLookup.model_validate_json(call.arguments).customer_id
                customer = await ctx.http.get(crm_url(ctx, customer_id), timeout=10)
                items.append({"type": "function_call_output", "call_id": call.call_id,
                              "output": customer.text})
        raise RuntimeError(f"no answer in {MAX_TURNS} turns")

"""The openai SDK's function calling loop, as in OpenAI's function calling guide.

The model gets two tools: `lookup_customer` (the agent runs it against the CRM and sends
the result back as a `tool` message) and `route_ticket`, whose arguments are the answer.
`tool_choice="required"` makes every turn a tool call; the loop ends when the model calls
`route_ticket`. Knob: `OpenAI(base_url=ctx.base_urls["llm"] + "/v1", http_client=ctx.http)`.

    simharness run scenarios/baseline.yaml --agent examples.frameworks.openai_tools:Router
"""

from __future__ import annotations

import json
from typing import Any

from openai import OpenAI
from openai.types.chat import ChatCompletionFunctionToolParam

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

TOOLS: list[ChatCompletionFunctionToolParam] = [
    {
        "type": "function",
        "function": {
            "name": "lookup_customer",
            "description": "Look up a customer in the CRM: their tier and account value.",
            "parameters": CustomerLookup.model_json_schema(),
        },
    },
    {
        "type": "function",
        "function": {
            "name": "route_ticket",
            "description": "Send the ticket to the team(s) that handle it.",
            "parameters": TicketRouting.model_json_schema(),
        },
    },
]

MAX_TURNS = 5


class Router:
    """Chat Completions with tools, sync."""

    def __init__(self) -> None:
        self.client: OpenAI | None = None

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.client is None:
            self.client = OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                 http_client=ctx.http)
        messages: list[Any] = [
            {"role": "system", "content": INSTRUCTIONS},
            {"role": "user", "content": ticket_prompt(payload, ctx)},
        ]
        for _ in range(MAX_TURNS):
            completion = self.client.chat.completions.create(
                model=MODEL, messages=messages, tools=TOOLS, tool_choice="required")
            message = completion.choices[0].message
            messages.append(message)
            for call in message.tool_calls or []:
                if call.type != "function":
                    continue
                arguments = json.loads(call.function.arguments)
                if call.function.name == "route_ticket":
                    return decision(TicketRouting.model_validate(arguments), "openai tools")
                customer = ctx.http.get(crm_url(ctx, arguments["customer_id"]), timeout=10)
                messages.append({"role": "tool", "tool_call_id": call.id,
                                 "content": customer.text})
        raise RuntimeError(f"no route_ticket call in {MAX_TURNS} turns")

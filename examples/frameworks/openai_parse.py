"""Structured Outputs with the openai SDK: `chat.completions.parse` and a Pydantic model.

As in the openai-python helpers guide: `response_format=TicketRouting` sends a strict
JSON Schema and `message.parsed` is a validated `TicketRouting`; the CRM lookup is a
strict function tool made with `openai.pydantic_function_tool`, whose calls come back
with `parsed_arguments`. The model decides when to call it (`tool_choice` "auto").
Knob: `OpenAI(base_url=ctx.base_urls["llm"] + "/v1", http_client=ctx.http)`.

    simharness run scenarios/baseline.yaml --agent examples.frameworks.openai_parse:Router
"""

from __future__ import annotations

from typing import Any

import openai
from openai import OpenAI

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

MAX_TURNS = 5


class Router:
    """`chat.completions.parse` with a function tool, sync."""

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
            completion = self.client.chat.completions.parse(
                model=MODEL,
                messages=messages,
                tools=[openai.pydantic_function_tool(CustomerLookup, name="lookup_customer")],
                response_format=TicketRouting,
            )
            message = completion.choices[0].message
            if not message.tool_calls:
                if message.parsed is None:
                    raise RuntimeError(f"no answer: refusal={message.refusal!r}")
                return decision(message.parsed, "openai chat.completions.parse")
            messages.append(message)
            for call in message.tool_calls:
                lookup = call.function.parsed_arguments  # type: ignore[union-attr]
                assert isinstance(lookup, CustomerLookup)
                customer = ctx.http.get(crm_url(ctx, lookup.customer_id), timeout=10)
                messages.append({"role": "tool", "tool_call_id": call.id,
                                 "content": customer.text})
        raise RuntimeError(f"no answer in {MAX_TURNS} turns")

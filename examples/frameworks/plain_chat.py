"""The reference: the routing logic on one plain `chat.completions.create` call.

No tools, no structured outputs: the agent looks the customer up in the CRM itself, puts
the record in the prompt, asks for a JSON object in the instructions and parses the text
it gets back. The framework examples next to this file do the same job the way each
framework's documentation shows, and should score as well on the same scenario and seed.

    simharness run scenarios/baseline.yaml --agent examples.frameworks.plain_chat:Router
"""

from __future__ import annotations

import json
from typing import Any

from openai import OpenAI

from examples.frameworks.support import INSTRUCTIONS, MODEL, crm_url, customer_facts, ticket_prompt
from simharness import Decision

ANSWER_FORMAT = (
    "Reply with only a JSON object, no prose: "
    '{"route": "<team>", "escalate": <true|false>, "confidence": <number from 0 to 1>}. '
    "When the customer raises several separate issues, make route a list of teams."
)


class Router:
    """One LLM call per event, on the openai SDK's client over `ctx.http`."""

    def __init__(self) -> None:
        self.client: OpenAI | None = None

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.client is None:
            self.client = OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                                 http_client=ctx.http)
        prompt = ticket_prompt(payload, ctx)
        record = ctx.http.get(crm_url(ctx, payload["customer"]["id"]), timeout=10).json()
        completion = self.client.chat.completions.create(
            model=MODEL,
            messages=[
                {"role": "system", "content": INSTRUCTIONS + " " + ANSWER_FORMAT},
                {"role": "user", "content": prompt + "\n\n" + customer_facts(record)},
            ],
        )
        answer = json.loads(completion.choices[0].message.content or "")
        return Decision(route=answer["route"], escalate=bool(answer.get("escalate", False)),
                        confidence=answer.get("confidence"), reason="plain chat completion")

"""instructor: a Pydantic `response_model` on the openai client, in TOOLS and JSON modes.

As in instructor's quickstart: `instructor.from_openai(OpenAI(...))` patches the client,
and `client.chat.completions.create(response_model=TicketRouting, ...)` returns a
validated `TicketRouting`, re-asking the model when validation fails. `Router` uses the
default mode, `Mode.TOOLS` (the schema goes out as a forced function call); `JsonRouter`
uses `Mode.JSON` (`response_format={"type": "json_object"}` and the schema in the system
message). instructor has no tool loop, so the agent looks the customer up itself.
Knob: `instructor.from_openai(OpenAI(base_url=ctx.base_urls["llm"] + "/v1",
http_client=ctx.http), mode=...)`.

    simharness run scenarios/baseline.yaml --agent examples.frameworks.instructor_agent:Router
    simharness run scenarios/baseline.yaml --agent examples.frameworks.instructor_agent:JsonRouter
"""

from __future__ import annotations

from typing import Any

import instructor
from openai import OpenAI

from examples.frameworks.support import (
    INSTRUCTIONS,
    MODEL,
    TicketRouting,
    crm_url,
    customer_facts,
    decision,
    ticket_prompt,
)
from simharness import Decision


class Router:
    """instructor in its default mode, `Mode.TOOLS`."""

    mode = instructor.Mode.TOOLS

    def __init__(self) -> None:
        self.client: Any = None

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.client is None:
            self.client = instructor.from_openai(
                OpenAI(base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                       http_client=ctx.http),
                mode=self.mode)
        prompt = ticket_prompt(payload, ctx)
        record = ctx.http.get(crm_url(ctx, payload["customer"]["id"]), timeout=10).json()
        answer = self.client.chat.completions.create(
            model=MODEL,
            response_model=TicketRouting,
            max_retries=2,
            messages=[
                {"role": "system", "content": INSTRUCTIONS},
                {"role": "user", "content": prompt + "\n\n" + customer_facts(record)},
            ],
        )
        return decision(answer, f"instructor {self.mode.value}")


class JsonRouter(Router):
    """instructor in `Mode.JSON`."""

    mode = instructor.Mode.JSON

"""LangChain: `ChatOpenAI(...).with_structured_output(TicketRouting, method=...)`.

As in LangChain's structured output guide: the chat model wrapped by
`with_structured_output` returns a validated `TicketRouting` from `.invoke(messages)`.
`Router` uses `method="json_schema"` (the default for `ChatOpenAI`: a strict
`response_format`), `FunctionCallingRouter` uses `method="function_calling"` (the schema is
a tool the model is made to call). The agent looks the customer up itself and puts the
CRM record in the prompt. Knob: `ChatOpenAI(model="large",
base_url=ctx.base_urls["llm"] + "/v1", api_key="sim", http_client=ctx.http)`.

    simharness run scenarios/baseline.yaml --agent examples.frameworks.langchain_agent:Router
    simharness run scenarios/baseline.yaml \
        --agent examples.frameworks.langchain_agent:FunctionCallingRouter
"""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI

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
    """`with_structured_output(method="json_schema")`, sync `.invoke`."""

    method: Literal["json_schema", "function_calling"] = "json_schema"

    def __init__(self) -> None:
        self.structured_llm: Runnable[Any, Any] | None = None

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.structured_llm is None:
            llm = ChatOpenAI(model=MODEL, base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                             http_client=ctx.http)
            self.structured_llm = llm.with_structured_output(TicketRouting, method=self.method)
        prompt = ticket_prompt(payload, ctx)
        record = ctx.http.get(crm_url(ctx, payload["customer"]["id"]), timeout=10).json()
        answer = self.structured_llm.invoke([
            ("system", INSTRUCTIONS),
            ("human", prompt + "\n\n" + customer_facts(record)),
        ])
        return decision(answer, f"langchain with_structured_output {self.method}")


class FunctionCallingRouter(Router):
    """`with_structured_output(method="function_calling")`."""

    method = "function_calling"

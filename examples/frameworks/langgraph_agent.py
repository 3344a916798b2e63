"""LangGraph: a `StateGraph` whose two sync branches run in parallel, then join.

As in LangGraph's graph API guide ("create branches": several edges out of `START`, one
node waiting on a list of nodes) with a run-scoped `context_schema` (LangGraph's `Runtime`):
`classify` asks the model for the route (`ChatOpenAI.with_structured_output`) while
`lookup_customer` fetches the CRM record; `decide` joins them and escalates from the
account value. `graph.invoke(...)` runs the two sync branches on LangGraph's thread pool.
Knob: `ChatOpenAI(model="large", base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
http_client=ctx.http)` and `ctx.http` in the graph's context.

    simharness run scenarios/baseline.yaml --agent examples.frameworks.langgraph_agent:Router
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypedDict

from langchain_core.runnables import Runnable
from langchain_openai import ChatOpenAI
from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from pydantic import BaseModel, Field

from examples.frameworks.support import (
    ESCALATION_VALUE,
    INSTRUCTIONS,
    MODEL,
    Route,
    ticket_prompt,
)
from simharness import Decision


class Classification(BaseModel):
    """Where a support ticket goes."""

    routes: list[Route] = Field(
        description="The team for the ticket; several teams only when the customer raises "
        "separate issues.")
    confidence: float = Field(description="How sure you are, from 0 to 1.")


class State(TypedDict, total=False):
    ticket: str
    customer_id: str
    classification: Classification
    customer: dict[str, Any]
    escalate: bool


@dataclass
class Context:
    """Run-scoped dependencies: the structured-output model and the HTTP client."""

    classifier: Runnable[Any, Any]
    http: Any
    crm_url: str


def classify(state: State, runtime: Runtime[Context]) -> State:
    answer = runtime.context.classifier.invoke([("system", INSTRUCTIONS),
                                                ("human", state["ticket"])])
    return {"classification": answer}


def lookup_customer(state: State, runtime: Runtime[Context]) -> State:
    url = f"{runtime.context.crm_url}/customers/{state['customer_id']}"
    response = runtime.context.http.get(url, timeout=10)
    response.raise_for_status()
    return {"customer": response.json()}


def decide(state: State) -> State:
    return {"escalate": state["customer"].get("account_value", 0) >= ESCALATION_VALUE}


builder = StateGraph(State, context_schema=Context)
builder.add_node("classify", classify)
builder.add_node("lookup_customer", lookup_customer)
builder.add_node("decide", decide)
builder.add_edge(START, "classify")
builder.add_edge(START, "lookup_customer")
builder.add_edge(["classify", "lookup_customer"], "decide")
builder.add_edge("decide", END)
graph = builder.compile()


class Router:
    """`graph.invoke(...)` from a sync agent."""

    def __init__(self) -> None:
        self.classifier: Runnable[Any, Any] | None = None

    def handle(self, payload: dict[str, Any], ctx: Any) -> Decision:
        if self.classifier is None:
            llm = ChatOpenAI(model=MODEL, base_url=ctx.base_urls["llm"] + "/v1", api_key="sim",
                             http_client=ctx.http)
            self.classifier = llm.with_structured_output(Classification)
        state = graph.invoke(
            {"ticket": ticket_prompt(payload, ctx), "customer_id": payload["customer"]["id"]},
            context=Context(classifier=self.classifier, http=ctx.http,
                            crm_url=ctx.base_urls["crm"]))
        classification = state["classification"]
        return Decision(route=list(classification.routes), escalate=state["escalate"],
                        confidence=classification.confidence, reason="langgraph parallel branches")

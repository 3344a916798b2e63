"""The injector interface: what a fault sees and how it changes what the agent gets.

Families, by where they act:
- "network": on a call to an integration. `before` may answer instead of the
  integration (refused connection, 5xx, 429...); `after` may change the latency or the
  response the integration produced (slow responses, a connection dropped mid-body).
- "llm": on an answer of the simulated LLM, whatever API asked for it (chat completions,
  responses, messages). `accuracy_factor` scales the chance of a right answer; `rewrite`
  changes the completion (refusal, bad JSON, a broken tool call, ...); `stream` changes a
  streamed answer on its way (a dropped connection, a stall, a corrupt chunk). They may
  also use `before`/`after` like network faults (e.g. a forced 400).
- "input": on the payload the agent receives; `mutate` returns the new payload, which
  may be a dict, a str, bytes or None, like a broken webhook body.
- "delivery": on when and how often an event is delivered (duplicates, out of order);
  the engine reads `duplicate_after` / `reorder_by`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class ParamsModel(BaseModel):
    """Base of injector parameters: an unknown field is an error, not silently ignored."""

    model_config = ConfigDict(extra="forbid")


class NoParams(ParamsModel):
    """Parameters of an injector that takes none."""


@dataclass(slots=True)
class Call:
    """A call from the agent to an integration, as a fault sees it."""

    target: str          # "llm.large", "tools.crm", ...
    method: str
    path: str
    now: float           # simulated seconds since the run started
    read_timeout: float | None = None
    window_start: float = 0.0
    window_end: float = float("inf")
    intensity: float = 1.0   # 0..1, rises over a `ramp`
    tokens_in: int | None = None  # prompt tokens, for LLM calls


@dataclass(slots=True)
class ToolCall:
    """A function call the model makes; `arguments` is the JSON text it wrote."""

    id: str
    name: str
    arguments: str


@dataclass(slots=True)
class Completion:
    """An answer being produced by the simulated LLM, before any API renders it.

    The answer is either text (`content`: prose, a label, or JSON) or tool calls. `data` is
    the answer as JSON data before it became text (the filled schema, or the arguments of
    the tool call that carries the route), with the route under `route_key`: faults that
    change what the answer says edit `data` and write it back through `payload`.
    """

    content: str | None
    routes: list[str]            # the labels the model chose (before any rewrite)
    taxonomy: list[str]          # every valid route label
    tokens_in: int
    tokens_out: int
    cost_factor: float = 1.0
    finish_reason: str = "stop"
    extra: dict[str, Any] = field(default_factory=dict)
    tool_calls: list[ToolCall] = field(default_factory=list)
    tools: Sequence[str] = ()  # names of the tools the request offered
    data: Any = None
    route_key: str | None = None
    confidence_key: str | None = None
    #: Whether the answer is JSON the request asked for (a schema, or JSON mode); a label
    #: or prose answer is False.
    structured: bool = False

    @property
    def payload(self) -> str | None:
        """The answer's text: the arguments of the first tool call, else the content."""
        return self.tool_calls[0].arguments if self.tool_calls else self.content

    @payload.setter
    def payload(self, text: str | None) -> None:
        if self.tool_calls:
            self.tool_calls[0].arguments = text or ""
        else:
            self.content = text


@dataclass(slots=True)
class StreamPlan:
    """A streamed answer as it will reach the client: chunks of bytes, each after a gap.

    `gap` is seconds after the previous chunk (the first: after the response headers).
    The first `answer_chunks` chunks carry the answer; the rest close it (finish reason,
    usage, `[DONE]`). `ending` is how the connection ends: None (closed cleanly) or
    "reset" (dropped: the client library raises a protocol error).
    """

    chunks: list[tuple[float, bytes]]
    answer_chunks: int
    ending: str | None = None
    #: How many chunks the stream had when it was planned (a shorter one was cut).
    planned: int = 0

    @property
    def finished(self) -> bool:
        """Whether the stream still ends the way the API finishes an answer."""
        return self.ending is None and len(self.chunks) >= self.planned


class FaultInjector:
    """Base class. Subclasses set `kind`, `family` and optionally a pydantic `Params`.

    Injectors hold no state about the run beyond what their parameters say, except
    where the fault is stateful by nature (a token bucket); `rng` is the fault's own
    seeded stream, so every draw is reproducible from the scenario seed.
    """

    kind: ClassVar[str] = ""
    family: ClassVar[str] = "network"
    Params: ClassVar[type[BaseModel]] = NoParams
    #: "call": the fault's probability is drawn per call; "ticket": once per ticket.
    default_per: ClassVar[str] = "call"

    def __init__(self, params: BaseModel, rng: random.Random | None = None) -> None:
        self.params = params
        self.rng = rng or random.Random(0)

    # -- network family -----------------------------------------------------------------
    def before(self, call: Call) -> tuple[float, Any] | None:
        """Answer instead of the integration: (latency, SimResponse), or None."""
        return None

    def after(self, call: Call, latency: float, response: Any) -> tuple[float, Any]:
        """Change the integration's (latency, SimResponse)."""
        return latency, response

    # -- llm family ---------------------------------------------------------------------
    def accuracy_factor(self, call: Call) -> float:
        return 1.0

    def rewrite(self, call: Call, completion: Completion) -> bool | None:
        """Change the completion in place; return False when there was nothing to change
        (the ticket is then not counted as touched by the fault)."""
        return None

    def stream(self, call: Call, plan: StreamPlan) -> None:
        """Change a streamed answer in place (only called for streaming requests)."""

    # -- input family -------------------------------------------------------------------
    def mutate(self, payload: Any) -> Any:
        """Return the payload the agent will receive instead."""
        return payload

    # -- delivery family ----------------------------------------------------------------
    def duplicate_after(self) -> float | None:
        """Seconds after the original when a duplicate of the event is delivered."""
        return None

    def reorder_by(self) -> float | None:
        """Seconds by which a conversation's first message is delayed past its follow-up."""
        return None

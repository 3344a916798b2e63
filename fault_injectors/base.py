"""The injector interface: what a fault sees and how it changes what the agent gets.

Families, by where they act:
- "network": on a call to an integration. `before` may answer instead of the
  integration (refused connection, 5xx, 429...); `after` may change the latency or the
  response the integration produced (slow responses, a connection dropped mid-body).
- "llm": on a chat completion of the simulated LLM. `accuracy_factor` scales the
  chance of a right answer; `rewrite` changes the completion (refusal, bad JSON, ...).
  They may also use `before`/`after` like network faults (e.g. a forced 400).
- "input": on the payload the agent receives; `mutate` returns the new payload, which
  may be a dict, a str, bytes or None, like a broken webhook body.
- "delivery": on when and how often an event is delivered (duplicates, out of order);
  the engine reads `duplicate_after` / `reorder_by`.
"""

from __future__ import annotations

import random
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
class Completion:
    """A chat completion being produced by the simulated LLM."""

    content: str | None
    routes: list[str]            # the labels the model chose (before any rewrite)
    taxonomy: list[str]          # every valid route label
    tokens_in: int
    tokens_out: int
    cost_factor: float = 1.0
    finish_reason: str = "stop"
    extra: dict[str, Any] = field(default_factory=dict)


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

    def rewrite(self, call: Call, completion: Completion) -> None:
        """Change the completion in place."""

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

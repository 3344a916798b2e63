"""The injector interface: what a fault sees of a call and how it answers instead."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict


class NoParams(BaseModel):
    """Parameters of an injector that takes none."""

    model_config = ConfigDict(extra="forbid")


@dataclass(slots=True)
class Call:
    """A call from the agent to an integration, as a network fault sees it."""

    target: str          # "llm.large", "tools.crm", ...
    method: str
    path: str
    now: float           # simulated seconds since the run started
    window_start: float
    window_end: float


class FaultInjector:
    """Base class. Subclasses set `kind`, `family` and optionally a pydantic `Params` model.

    A network injector overrides `on_call` and returns `(latency, SimResponse)` to answer
    instead of the integration, or None to let the call through.
    """

    kind: ClassVar[str] = ""
    family: ClassVar[str] = "network"
    Params: ClassVar[type[BaseModel]] = NoParams

    def __init__(self, params: BaseModel) -> None:
        self.params = params

    def on_call(self, call: Call) -> tuple[float, Any] | None:
        return None

"""The `faults:` section of a scenario: one entry per fault, its kind and its schedule.

Kind-specific fields are kept as extras and validated by the kind's own `Params` model
(see `fault_injectors`), so a plugin's parameters are checked like the built-ins'.
"""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..config_base import Fraction, NonEmptyStr
from ..units import Duration


class FaultSpec(BaseModel):
    """A fault injected into the world during a time window; extra fields go to its kind."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)
    name: str | None = Field(default=None, description="Unique name (default '<kind>-<index>').")
    kind: NonEmptyStr = Field(description="Fault kind, e.g. 'outage', 'latency', 'rate_limit'.")
    target: str | None = Field(
        default=None, description="'llm', 'llm.<tier>' or 'tools.<name>' (some kinds need none)."
    )
    at: Duration | None = Field(default=None, description="Start time; use with `duration`.")
    duration: Duration | None = Field(
        default=None, description="How long from `at` (default: to the end)."
    )
    from_: Duration | None = Field(
        default=None, alias="from", description="Start time; use with `until`."
    )
    until: Duration | None = Field(
        default=None, description="End time (default: the end of the run)."
    )
    probability: Fraction = Field(default=1.0, description="Chance each affected call is hit.")
    ramp: Duration | None = Field(
        default=None,
        description="Intensity rises linearly from 0 to `probability` over this long "
        "from each window start (default: full intensity at once).",
    )
    every: Duration | None = Field(
        default=None, gt=0,
        description="Repeat period: with `for`, the fault is active for `for` out of every "
        "`every` seconds inside its window.",
    )
    for_: Duration | None = Field(
        default=None, gt=0, alias="for",
        description="How long each repeat is active (with `every`, at most `every`).",
    )
    per: Literal["call", "ticket"] | None = Field(
        default=None,
        description="Draw `probability` per 'call' or once per 'ticket' (default: the kind's).",
    )

    @model_validator(mode="after")
    def _one_window_style(self) -> FaultSpec:
        if (self.at is not None or self.duration is not None) and (
            self.from_ is not None or self.until is not None
        ):
            raise ValueError("use either 'at' (with 'duration') or 'from'/'until', not both")
        if self.duration is not None and self.at is None:
            raise ValueError("'duration' needs 'at'")
        start, end = self.window()
        if end <= start:
            raise ValueError(f"'until' ({end:g}s) must be after 'from' ({start:g}s)")
        if (self.every is None) != (self.for_ is None):
            raise ValueError("'every' and 'for' go together: give both or neither")
        if self.every is not None and self.for_ is not None and self.for_ > self.every:
            raise ValueError(f"'for' ({self.for_:g}s) must be at most 'every' ({self.every:g}s)")
        return self

    def window(self) -> tuple[float, float]:
        """(start, end) in simulated seconds; end is math.inf when the fault never ends."""
        if self.at is not None:
            return self.at, (self.at + self.duration if self.duration is not None else math.inf)
        start = self.from_ if self.from_ is not None else 0.0
        return start, (self.until if self.until is not None else math.inf)

    def params(self) -> dict[str, Any]:
        """The kind-specific fields, for the fault registry to validate."""
        return dict(self.model_extra or {})


def fault_fields() -> list[str]:
    """The fields every fault has, as written in a file ('from', 'for', not 'from_')."""
    return [f.alias or n for n, f in FaultSpec.model_fields.items()]

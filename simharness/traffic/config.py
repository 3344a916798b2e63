"""The `traffic:` section of a scenario: where tickets come from and when."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field, field_validator, model_validator

from ..config_base import ConfigModel as _Model
from ..config_base import Fraction, NonEmptyStr
from ..config_base import unique as _unique
from ..distributions import Distribution, UniformDist
from ..units import Duration, Rate

#: Ticket tags an accuracy can be given for (TagMix draws the first four; "malformed" is a fault).
TAGS = ("multi_issue", "mind_change", "high_value", "ambiguous", "malformed")


class TagMix(_Model):
    """Share of tickets carrying each edge-case tag."""

    multi_issue: Fraction = Field(
        default=0.0, description="Share of tickets with two issues at once."
    )
    mind_change: Fraction = Field(
        default=0.0, description="Share where the customer changes the request."
    )
    high_value: Fraction = Field(
        default=0.0, description="Share from high-value accounts (independent)."
    )
    ambiguous: Fraction = Field(
        default=0.0, description="Share whose text does not clearly say the route."
    )

    @model_validator(mode="after")
    def _exclusive_kinds(self) -> TagMix:
        total = self.multi_issue + self.mind_change + self.ambiguous
        if total > 1 + 1e-9:
            raise ValueError(
                f"multi_issue + mind_change + ambiguous must be at most 1 "
                f"(a ticket is at most one of them), got {total:g}"
            )
        return self


class RateStep(_Model):
    """From `at` until the next step, tickets arrive at `rate`."""

    at: Duration = Field(description="Simulated time the step starts, e.g. '10m'.")
    rate: Rate = Field(description="Arrival rate from then on, e.g. '2/s'.")


def _default_follow_up() -> UniformDist:
    return UniformDist(low=60, high=600)


class SyntheticTraffic(_Model):
    """Generated tickets: Poisson arrivals at a constant rate or a piecewise-constant schedule."""

    rate: Rate | None = Field(
        default=None, description="Constant arrival rate, e.g. '2/s' or '120/m'."
    )
    schedule: list[RateStep] | None = Field(
        default=None, min_length=1,
        description="Piecewise-constant rate, sorted by `at` (rate 0 before the first step).",
    )
    routes: Annotated[list[NonEmptyStr], AfterValidator(_unique)] = Field(
        default_factory=lambda: ["billing", "technical", "account", "shipping", "refund",
                                 "cancellation"],
        min_length=1, description="Queues a ticket can be routed to (unique names).",
    )
    mix: TagMix = Field(default_factory=TagMix, description="Share of edge-case tickets.")
    follow_up_delay: Distribution = Field(
        default_factory=_default_follow_up,
        description="Delay before a follow-up message of the same conversation.",
    )
    start: Duration = Field(default=0.0, description="Simulated time this source starts sending.")
    until: Duration | None = Field(
        default=None, description="Simulated time it stops (default: never)."
    )
    channels: Annotated[list[NonEmptyStr], AfterValidator(_unique)] = Field(
        default_factory=lambda: ["email", "chat", "web"], min_length=1,
        description="Channels tickets arrive through, picked uniformly.",
    )
    languages: dict[str, Annotated[float, Field(ge=0)]] = Field(
        default_factory=lambda: {"en": 1.0}, min_length=1,
        description="Language codes and their relative weights.",
    )

    @field_validator("schedule")
    @classmethod
    def _sorted(cls, steps: list[RateStep] | None) -> list[RateStep] | None:
        for i in range(1, len(steps or [])):
            assert steps is not None
            if steps[i].at <= steps[i - 1].at:
                raise ValueError(
                    f"steps must be sorted by 'at': step {i} (at {steps[i].at:g}s) "
                    f"is not after step {i - 1} (at {steps[i - 1].at:g}s)"
                )
        return steps

    @field_validator("languages")
    @classmethod
    def _some_weight(cls, weights: dict[str, float]) -> dict[str, float]:
        if weights and sum(weights.values()) <= 0:
            raise ValueError("at least one language needs a weight above 0")
        return weights

    @model_validator(mode="after")
    def _one_rate(self) -> SyntheticTraffic:
        if (self.rate is None) == (self.schedule is None):
            raise ValueError("give exactly one of 'rate' or 'schedule'")
        if self.until is not None and self.until <= self.start:
            raise ValueError(f"until ({self.until:g}s) must be after start ({self.start:g}s)")
        return self

    def rate_steps(self) -> list[tuple[float, float]]:
        """(start time, rate) pairs, piecewise constant, beginning at t=0."""
        if self.rate is not None:
            return [(0.0, self.rate)]
        steps = [(s.at, s.rate) for s in self.schedule or []]
        return steps if steps and steps[0][0] == 0 else [(0.0, 0.0), *steps]

    def rate_at(self, t: float) -> float:
        """Arrival rate at simulated time `t` (ignores `start`/`until`)."""
        current = 0.0
        for at, rate in self.rate_steps():
            if at > t:
                break
            current = rate
        return current


class TrafficSource(_Model):
    """One source of tickets; exactly one kind is given (today only `synthetic`)."""

    synthetic: SyntheticTraffic | None = Field(default=None, description="Generated tickets.")

    @model_validator(mode="after")
    def _one_kind(self) -> TrafficSource:
        if self.synthetic is None:
            raise ValueError("a traffic source needs a kind: 'synthetic'")
        return self

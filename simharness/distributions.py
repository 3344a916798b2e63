"""Distributions of durations (latencies, delays) as the scenario file writes them."""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from .config_base import ConfigModel as _Model
from .units import Duration

_Z95 = 1.6448536269514722  # standard normal 95th percentile


class FixedDist(_Model):
    """Always the same value."""

    dist: Literal["fixed"] = Field(default="fixed", description="Distribution kind.")
    value: Duration = Field(description="The value, e.g. '200ms'.")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return np.full(size, self.value, dtype=float)

    def mean(self) -> float:
        return self.value


class ExponentialDist(_Model):
    """Memoryless waits: service times of a busy tool, gaps between Poisson arrivals."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    dist: Literal["exponential"] = Field(default="exponential", description="Distribution kind.")
    mean_: Duration = Field(alias="mean", description="Mean value, e.g. '50ms'.")

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.exponential(self.mean_, size)

    def mean(self) -> float:
        return self.mean_


class LognormalDist(_Model):
    """Right-skewed latencies, given the way people quote them: a median and a p95."""

    dist: Literal["lognormal"] = Field(default="lognormal", description="Distribution kind.")
    median: Duration = Field(gt=0, description="Median (50th percentile), e.g. '0.4s'.")
    p95: Duration = Field(description="95th percentile, above the median, e.g. '1.2s'.")

    @model_validator(mode="after")
    def _p95_above_median(self) -> LognormalDist:
        if self.p95 <= self.median:
            raise ValueError(f"p95 ({self.p95:g}s) must be above the median ({self.median:g}s)")
        return self

    @property
    def mu(self) -> float:
        return math.log(self.median)

    @property
    def sigma(self) -> float:
        return (math.log(self.p95) - self.mu) / _Z95

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.lognormal(self.mu, self.sigma, size)

    def mean(self) -> float:
        return math.exp(self.mu + self.sigma**2 / 2)


class UniformDist(_Model):
    """Any value between low and high, equally likely."""

    dist: Literal["uniform"] = Field(default="uniform", description="Distribution kind.")
    low: Duration = Field(description="Smallest value.")
    high: Duration = Field(description="Largest value (at least `low`).")

    @model_validator(mode="after")
    def _ordered(self) -> UniformDist:
        if self.high < self.low:
            raise ValueError(f"high ({self.high:g}s) must be at least low ({self.low:g}s)")
        return self

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        return rng.uniform(self.low, self.high, size)

    def mean(self) -> float:
        return (self.low + self.high) / 2


Distribution = Annotated[
    FixedDist | ExponentialDist | LognormalDist | UniformDist, Field(discriminator="dist")
]
DIST_KINDS = ("fixed", "exponential", "lognormal", "uniform")

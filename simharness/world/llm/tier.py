"""One model tier: latency, prices, the requests-per-minute limiter, accuracy."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any

from ...rng import BufferedSampler, numpy_stream


@dataclass(slots=True)
class RateLimitState:
    """What a provider's rate-limit headers report: the limit (also as text), what is
    left, and the seconds until the window frees a slot."""

    limit: int
    remaining: int
    reset_s: float
    limit_text: str


class Tier:
    """One model tier: latency, prices, rate limit, accuracy (`config.accuracy`)."""

    def __init__(self, name: str, config: Any, seed: int) -> None:
        self.name = name
        self.config = config
        self.latency = BufferedSampler(config.latency, numpy_stream(seed, "llm", name, "latency"))
        self.per_output_token = config.per_output_token
        self.input_price = config.price.input_per_mtok / 1e6
        self.output_price = config.price.output_per_mtok / 1e6
        self.rpm = config.rpm
        self._rpm_text = str(config.rpm)
        self._recent: deque[float] = deque()

    def throttle(self, now: float) -> float | None:
        """Seconds until a slot frees when over the RPM limit, else None (and count it)."""
        if self.rpm is None:
            return None
        recent = self._recent
        while recent and recent[0] <= now - 60.0:
            recent.popleft()
        if len(recent) >= self.rpm:
            return recent[0] + 60.0 - now
        recent.append(now)
        return None

    def rate_limit(self, now: float) -> RateLimitState | None:
        """The limiter's state after the latest request (None: the tier has no limit)."""
        if self.rpm is None:
            return None
        recent = self._recent
        reset = recent[0] + 60.0 - now if recent else 0.0
        return RateLimitState(self.rpm, max(0, self.rpm - len(recent)), max(0.0, reset),
                              self._rpm_text)

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return tokens_in * self.input_price + tokens_out * self.output_price

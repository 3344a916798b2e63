"""Network and integration faults, delivered as the client library would see them.

Every kind here works on any target: `llm`, `llm.<tier>`, `tools.<name>`.
"""

from __future__ import annotations

import math
import random
from typing import Any, Literal

from pydantic import Field

from simharness.distributions import Distribution
from simharness.units import Duration, Rate
from simharness.world.http import SimResponse, json_error

from . import register
from .base import Call, FaultInjector, ParamsModel

# A refused connection is answered by the peer's TCP stack within a round trip.
CONNECT_REFUSED_AFTER = 0.005
# An error page comes back about as fast as a cheap request.
ERROR_PAGE_AFTER = 0.05


@register
class Outage(FaultInjector):
    """The target refuses connections: the client raises `httpx.ConnectError`.

    `{name: llm-down, target: llm.large, kind: outage, at: 20m, duration: 5m}`
    """

    kind = "outage"

    def before(self, call: Call) -> tuple[float, Any] | None:
        return CONNECT_REFUSED_AFTER, SimResponse(
            failure="connect", detail=f"[Errno 111] Connection refused ({call.target} is down)")


class LatencyParams(ParamsModel):
    add: Distribution | None = Field(None, description="extra latency, a distribution")
    multiply: float | None = Field(None, ge=0, description="factor on the normal latency")


@register
class Latency(FaultInjector):
    """Slower responses: latency multiplied by `multiply`, then `add` (a distribution) added.

    `{name: llm-slow, target: llm, kind: latency, add: {dist: fixed, value: 30s}, at: 40m, duration: 5m}`
    A latency above the client's read timeout reaches the agent as `httpx.ReadTimeout`.
    """

    kind = "latency"
    Params = LatencyParams
    params: LatencyParams

    def __init__(self, params: Any, rng: random.Random | None = None) -> None:
        super().__init__(params, rng)
        self._sample = None
        if params.add is not None:
            import numpy as np

            from simharness.rng import BufferedSampler

            self._sample = BufferedSampler(params.add,
                                           np.random.default_rng(self.rng.getrandbits(64)))

    def after(self, call: Call, latency: float, response: Any) -> tuple[float, Any]:
        if self.params.multiply is not None:
            latency *= self.params.multiply
        if self._sample is not None:
            latency += self._sample()
        return latency, response


@register
class Timeout(FaultInjector):
    """The call never answers: the client's own timeout fires (`httpx.ReadTimeout`).

    `{name: crm-hangs, target: tools.crm, kind: timeout, at: 10m, duration: 2m}`
    A client with no timeout waits until the event's `agent.ticket_timeout`.
    """

    kind = "timeout"

    def before(self, call: Call) -> tuple[float, Any] | None:
        return math.inf, SimResponse(status=200)


class ResetParams(ParamsModel):
    error: Literal["protocol", "read"] = Field(
        "protocol", description="protocol: httpx.RemoteProtocolError; read: httpx.ReadError")


@register
class Reset(FaultInjector):
    """The connection drops part-way through the response.

    `{name: llm-resets, target: llm, kind: reset, probability: 0.3, at: 5m, duration: 10m}`
    The agent gets `httpx.RemoteProtocolError` (or `httpx.ReadError` with `error: read`)
    after a fraction of the normal latency.
    """

    kind = "reset"
    Params = ResetParams
    params: ResetParams

    def after(self, call: Call, latency: float, response: Any) -> tuple[float, Any]:
        failure = "reset" if self.params.error == "protocol" else "read_error"
        return latency * self.rng.random(), SimResponse(failure=failure)


class HTTPErrorParams(ParamsModel):
    status: Literal[500, 502, 503, 504, 529] = Field(
        503, description="the HTTP status (529: overloaded, as Anthropic's API says it)")
    body: str | None = Field(None, description="response body (default: a JSON error)")


@register
class HTTPError(FaultInjector):
    """The target answers with a 5xx status and an error body (on `/v1/messages` in
    Anthropic's shape: 529 is `overloaded_error`).

    `{name: crm-5xx, target: tools.crm, kind: http_error, status: 503, probability: 0.5, at: 20m, duration: 5m}`
    """

    kind = "http_error"
    Params = HTTPErrorParams
    params: HTTPErrorParams

    def before(self, call: Call) -> tuple[float, Any] | None:
        status = self.params.status
        if self.params.body is not None:
            return ERROR_PAGE_AFTER, SimResponse(status=status, body=self.params.body.encode(),
                                               headers=[("content-type", "text/plain")])
        reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable",
                  504: "Gateway Timeout", 529: "Overloaded"}[status]
        return ERROR_PAGE_AFTER, json_error(status, f"{reason} ({call.target})", "server_error")


class RateLimitParams(ParamsModel):
    retry_after: Duration = Field(20.0, description="the Retry-After the server sends")
    bucket: int | None = Field(None, ge=1, description="token bucket size; omit for a plain "
                               "probability of 429 per call")
    refill: Rate | None = Field(None, description="bucket refill rate, e.g. '2/s'")

    def model_post_init(self, _context: Any) -> None:
        if (self.bucket is None) != (self.refill is None):
            raise ValueError("bucket and refill go together")


@register
class RateLimit(FaultInjector):
    """429 Too Many Requests with a `Retry-After` header.

    As a probability per call: `{name: llm-429, target: llm.large, kind: rate_limit, retry_after: 20s, probability: 0.5, at: 30m, duration: 5m}`.
    As a real token bucket the agent's own traffic drains (retry storms make it worse):
    `{name: llm-quota, target: llm, kind: rate_limit, bucket: 20, refill: 2/s, at: 30m, duration: 5m}`;
    then Retry-After is the time until the next token.
    """

    kind = "rate_limit"
    Params = RateLimitParams
    params: RateLimitParams

    def __init__(self, params: Any, rng: random.Random | None = None) -> None:
        super().__init__(params, rng)
        self._tokens = float(params.bucket or 0)
        self._updated: float | None = None

    def before(self, call: Call) -> tuple[float, Any] | None:
        retry_after = self.params.retry_after
        if self.params.bucket is not None and self.params.refill is not None:
            if self._updated is not None:
                self._tokens = min(float(self.params.bucket), self._tokens
                                   + (call.now - self._updated) * self.params.refill)
            self._updated = call.now
            if self._tokens >= 1.0:
                self._tokens -= 1.0
                return None
            retry_after = (1.0 - self._tokens) / self.params.refill
        seconds = str(max(1, math.ceil(retry_after)))
        return ERROR_PAGE_AFTER, json_error(
            429, f"Rate limit exceeded on {call.target}; retry after {seconds} s",
            "rate_limit_exceeded", "requests", headers=[("retry-after", seconds)])


class SlowDripParams(ParamsModel):
    chunk_every: Duration = Field(2.0, description="gap between trickled chunks")
    total: Duration = Field(120.0, description="how long the whole response takes")


@register
class SlowDrip(FaultInjector):
    """The response trickles in a few bytes at a time.

    httpx's read timeout bounds the gap between bytes, not the whole response: a client
    whose read timeout is shorter than `chunk_every` gets `httpx.ReadTimeout` after its
    timeout; any other waits the full `total` (only an overall deadline saves it).
    `{name: llm-drip, target: llm, kind: slow_drip, chunk_every: 5s, total: 3m, at: 10m, duration: 5m}`
    """

    kind = "slow_drip"
    Params = SlowDripParams
    params: SlowDripParams

    def after(self, call: Call, latency: float, response: Any) -> tuple[float, Any]:
        from dataclasses import replace

        return max(latency, self.params.total), replace(response, max_gap=self.params.chunk_every)


class FlappingParams(ParamsModel):
    period: Duration = Field(60.0, description="length of one up+down cycle")
    down: float = Field(0.5, gt=0, le=1, description="fraction of each period the target is down")


@register
class Flapping(FaultInjector):
    """The target goes up and down: refused connections for `down` of every `period`.

    `{name: crm-flaps, target: tools.crm, kind: flapping, period: 1m, down: 0.3, at: 10m, duration: 20m}`
    """

    kind = "flapping"
    Params = FlappingParams
    params: FlappingParams

    def before(self, call: Call) -> tuple[float, Any] | None:
        period = self.params.period
        if (call.now - call.window_start) % period < self.params.down * period:
            return CONNECT_REFUSED_AFTER, SimResponse(
                failure="connect", detail=f"[Errno 111] Connection refused ({call.target} is flapping)")
        return None

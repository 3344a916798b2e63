"""Network and integration faults, delivered as the client library would see them."""

from __future__ import annotations

from typing import Any

from . import register
from .base import Call, FaultInjector

# A refused connection is answered by the peer's TCP stack within a round trip.
CONNECT_REFUSED_AFTER = 0.005


@register
class Outage(FaultInjector):
    """The target refuses connections: the agent's client raises `httpx.ConnectError`.

    Example: `{name: llm-down, target: llm.large, kind: outage, at: 20m, duration: 5m}`
    """

    kind = "outage"

    def before(self, call: Call) -> tuple[float, Any] | None:
        from simharness.world.http import SimResponse

        return CONNECT_REFUSED_AFTER, SimResponse(
            failure="connect", detail=f"[Errno 111] Connection refused ({call.target} is down)")

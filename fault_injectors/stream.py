"""Stream faults: a streamed answer goes wrong on its way to the client.

Targets: `llm` (every tier) or `llm.<tier>`. They act only on streaming requests (on any
API: chat completions, responses, messages) and leave other calls alone.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from simharness.units import Duration

from . import register
from .base import Call, FaultInjector, ParamsModel, StreamPlan


def _cut(plan: StreamPlan, rng: Any) -> int:
    """A point inside the answer: at least one chunk delivered, at least one withheld."""
    return 1 + rng.randrange(max(1, plan.answer_chunks - 1))


@register
class StreamDisconnect(FaultInjector):
    """The connection drops mid-stream: the client library raises
    `httpx.RemoteProtocolError` (the SDK's connection error) after part of the answer.

    `{name: llm-stream-drops, target: llm, kind: stream_disconnect, probability: 0.2}`
    """

    kind = "stream_disconnect"
    family = "llm"

    def stream(self, call: Call, plan: StreamPlan) -> None:
        del plan.chunks[_cut(plan, self.rng):]
        plan.ending = "reset"


@register
class StreamTruncate(FaultInjector):
    """The stream ends early but cleanly: no finish reason, no usage, no `[DONE]` (nor
    `response.completed` / `message_stop`). Clients that do not check accept half an answer.

    `{name: llm-stream-cut, target: llm, kind: stream_truncate, probability: 0.2}`
    """

    kind = "stream_truncate"
    family = "llm"

    def stream(self, call: Call, plan: StreamPlan) -> None:
        del plan.chunks[_cut(plan, self.rng):]


@register
class StreamCorrupt(FaultInjector):
    """One event of the stream is not JSON (a chunk garbled on the way).

    `{name: llm-stream-garbage, target: llm, kind: stream_corrupt, probability: 0.1}`
    """

    kind = "stream_corrupt"
    family = "llm"

    def stream(self, call: Call, plan: StreamPlan) -> None:
        # An event that carries part of the answer (not a keep-alive the client skips).
        deltas = [i for i in range(plan.answer_chunks) if b"delta" in plan.chunks[i][1]]
        index = deltas[self.rng.randrange(len(deltas))] if deltas else _cut(plan, self.rng)
        gap, data = plan.chunks[index]
        head, sep, body = data.partition(b"data: ")
        half = body.decode()[: max(1, len(body) // 2)]
        plan.chunks[index] = (gap, head + sep + (half + "<garbled>\n\n").encode())


class StallParams(ParamsModel):
    gap: Duration = Field(300.0, gt=0, description="how long the stream goes silent")


@register
class StreamStall(FaultInjector):
    """The stream goes silent mid-answer for `gap`: a client whose read timeout is shorter
    gets `httpx.ReadTimeout` after its timeout; a patient one gets the rest after the gap.

    `{name: llm-stream-stalls, target: llm, kind: stream_stall, gap: 2m, probability: 0.1}`
    """

    kind = "stream_stall"
    family = "llm"
    Params = StallParams
    params: StallParams

    def stream(self, call: Call, plan: StreamPlan) -> None:
        index = _cut(plan, self.rng)
        gap, data = plan.chunks[index]
        plan.chunks[index] = (gap + self.params.gap, data)


class SlowFirstTokenParams(ParamsModel):
    delay: Duration = Field(30.0, gt=0, description="extra wait before the first event")


@register
class SlowFirstToken(FaultInjector):
    """The headers come at the usual time, then nothing for `delay` before the first event
    (a queued request on an overloaded provider). The read timeout bounds the wait.

    `{name: llm-slow-start, target: llm, kind: slow_first_token, delay: 20s, at: 10m, duration: 5m}`
    """

    kind = "slow_first_token"
    family = "llm"
    Params = SlowFirstTokenParams
    params: SlowFirstTokenParams

    def stream(self, call: Call, plan: StreamPlan) -> None:
        gap, data = plan.chunks[0]
        plan.chunks[0] = (gap + self.params.delay, data)

"""Server-sent events: how streamed answers are cut into timed chunks.

A provider module turns an answer into a list of events; each event carries the text it
delivers, which sets how long after the previous one it arrives (the tier's time per
output token). The response headers arrive after the tier's latency (time to first token).
"""

from __future__ import annotations

from typing import Any

from fault_injectors import StreamPlan

from ..json_text import dumps_compact
from .judgement import CHARS_PER_TOKEN, estimate_tokens

#: Characters of text per streamed delta (about two tokens), until a long text would need
#: more than MAX_DELTAS deltas.
DELTA_CHARS = 2 * CHARS_PER_TOKEN
MAX_DELTAS = 64
HEADERS = [("content-type", "text/event-stream; charset=utf-8"), ("cache-control", "no-cache")]
DONE = b"data: [DONE]\n\n"


def event(data: Any, name: str | None = None) -> bytes:
    """One SSE event (with an `event:` line when the provider names its events)."""
    body = dumps_compact(data)
    if name is None:
        return b"data: " + body.encode() + b"\n\n"
    return f"event: {name}\ndata: {body}\n\n".encode()


def pieces(text: str | None) -> list[str]:
    """A text cut into deltas."""
    if not text:
        return []
    size = max(DELTA_CHARS, -(-len(text) // MAX_DELTAS))
    return [text[i:i + size] for i in range(0, len(text), size)]


class StreamBuilder:
    """Collects timed chunks: `say` for a chunk that delivers text, `send` for framing."""

    def __init__(self, per_token: float) -> None:
        self.per_token = per_token
        self.chunks: list[tuple[float, bytes]] = []

    def send(self, data: bytes) -> None:
        self.chunks.append((0.0, data))

    def say(self, text: str, data: bytes) -> None:
        self.chunks.append((self.per_token * estimate_tokens(text), data))

    def plan(self, closing: list[bytes]) -> StreamPlan:
        """The plan: the chunks so far carry the answer, `closing` ends the stream."""
        chunks = self.chunks + [(0.0, c) for c in closing]
        return StreamPlan(chunks, len(self.chunks), planned=len(chunks))

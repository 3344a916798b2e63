"""What a provider module is: one wire format over the shared judgement.

A provider parses its request body into a `Request`, renders a `Completion` as its
response body or as a stream of events, and shapes errors and rate-limit headers its own
way, so each SDK raises its own exception classes. The defaults here are OpenAI's.
Adding a provider is one module with a `Provider` subclass, registered in `service.py`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, ClassVar

from fault_injectors import Completion, StreamPlan

from ..http import SimResponse, json_error
from .request import Request
from .tier import RateLimitState

JSON_HEADERS = [("content-type", "application/json")]


@dataclass(slots=True)
class Reply:
    """Facts about the response being rendered."""

    serial: int        # unique per run: ids are built from it
    created: int       # Unix seconds
    model: str         # as the request named it
    per_token: float   # simulated seconds per output token, for streams


class Provider:
    """Base of provider modules; errors and rate-limit headers in OpenAI's shape."""

    name: ClassVar[str] = "openai"

    def parse(self, body: Any) -> Request:
        raise NotImplementedError

    def render(self, request: Request, completion: Completion, reply: Reply) -> bytes:
        raise NotImplementedError

    def stream(self, request: Request, completion: Completion, reply: Reply) -> StreamPlan:
        raise NotImplementedError

    def error(self, status: int, message: str, code: str | None,
              kind: str = "invalid_request_error",
              headers: list[tuple[str, str]] | None = None) -> SimResponse:
        return json_error(status, message, code or kind, kind, headers)

    def rate_limit_headers(self, state: RateLimitState, now_epoch: float) -> list[tuple[str, str]]:
        return [("x-ratelimit-limit-requests", state.limit_text),
                ("x-ratelimit-remaining-requests", str(state.remaining)),
                ("x-ratelimit-reset-requests", go_duration(state.reset_s))]

    def reshape(self, response: SimResponse) -> SimResponse:
        """An error a fault produced (OpenAI-shaped), in this provider's shape."""
        return response


def go_duration(seconds: float) -> str:
    """A duration as OpenAI's headers write it: `120ms`, `17.3s`, `6m0s`."""
    if seconds < 1.0:
        return f"{seconds * 1000:.0f}ms"
    if seconds < 60.0:
        return f"{seconds:.3f}".rstrip("0").rstrip(".") + "s"
    minutes, rest = divmod(seconds, 60.0)
    return f"{int(minutes)}m" + f"{rest:.3f}".rstrip("0").rstrip(".") + "s"


def arguments_object(text: str) -> dict[str, Any] | None:
    """Tool-call arguments as an object, or None when the text is not a JSON object."""
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None

"""Anthropic Messages, `POST /v1/messages`.

Served: `system` (a string or text blocks), `messages` with text, `tool_use` and
`tool_result` blocks, `tools` (custom tools' `input_schema`) and `tool_choice` (`auto`,
`any`, `tool`, `none`, `disable_parallel_tool_use`), `max_tokens` (required, as in the real
API), `output_config.format` / `output_format` (`json_schema`, as `messages.parse()` sends
it), and streaming events (`message_start`, `content_block_start`, `ping`,
`content_block_delta` with `text_delta` / `input_json_delta`, `content_block_stop`,
`message_delta`, `message_stop`). Errors come in Anthropic's shape
(`{"type": "error", "error": {"type": "rate_limit_error", ...}}`, 529 `overloaded_error`),
so the anthropic SDK raises its own classes, and rate-limit headers are
`anthropic-ratelimit-requests-*`.

A tool call whose arguments a fault broke cannot be sent as a `tool_use.input` object in a
whole response: the block then carries an empty input, as the API does when the model's
arguments do not parse. In a stream the broken JSON arrives as `input_json_delta`s.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from fault_injectors import Completion, StreamPlan

from ..http import SimResponse
from ..json_text import dumps
from .judgement import estimate_tokens
from .provider import JSON_HEADERS, Provider, Reply, arguments_object
from .request import AUTO, NONE, REQUIRED, BadRequest, Request, Tool, text_of
from .sse import StreamBuilder, event, pieces
from .tier import RateLimitState

ERROR_TYPES = {400: "invalid_request_error", 401: "authentication_error",
               402: "billing_error", 403: "permission_error", 404: "not_found_error",
               408: "timeout_error", 413: "request_too_large", 429: "rate_limit_error",
               500: "api_error", 502: "api_error", 503: "api_error", 504: "timeout_error",
               529: "overloaded_error"}
STOP_REASONS = {"stop": "end_turn", "tool_calls": "tool_use", "length": "max_tokens"}


def _blocks(content: Any) -> list[Any]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return content if isinstance(content, list) else []


def _tool_choice(choice: Any, tools: list[Tool]) -> tuple[str, bool]:
    """(tool choice, whether parallel tool use is allowed)."""
    if not isinstance(choice, dict):
        return AUTO, True
    parallel = choice.get("disable_parallel_tool_use") is not True
    kind = choice.get("type")
    if kind == "any":
        return REQUIRED, parallel
    if kind == "none":
        return NONE, parallel
    if kind == "tool":
        name = choice.get("name")
        if not any(t.name == name for t in tools):
            raise BadRequest(f"tool_choice: tool '{name}' not found in tools")
        return str(name), parallel
    return AUTO, parallel


class AnthropicMessages(Provider):
    """The Messages wire format."""

    name = "anthropic"

    def parse(self, body: Any) -> Request:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise BadRequest("messages: Field required")
        if not isinstance(body.get("max_tokens"), int):
            raise BadRequest("max_tokens: Field required")
        texts: list[str] = []
        system = body.get("system")
        if system:
            texts.append(text_of(system))
        calls: dict[str, str] = {}
        answered: set[str] = set()
        for message in body["messages"]:
            if not isinstance(message, dict):
                raise BadRequest("messages: each message must be an object")
            for block in _blocks(message.get("content")):
                if not isinstance(block, dict):
                    continue
                kind = block.get("type")
                if kind == "text" and isinstance(block.get("text"), str):
                    texts.append(block["text"])
                elif kind == "tool_use":
                    calls[str(block.get("id"))] = str(block.get("name"))
                elif kind == "tool_result":
                    name = calls.get(str(block.get("tool_use_id")))
                    if name:
                        answered.add(name)
                    texts.append(text_of(block.get("content")))
        request = Request(str(body.get("model")), "\n".join(texts),
                          len(body["messages"]) + (1 if system else 0))
        request.answered = answered
        request.tools = [Tool(entry["name"], entry.get("input_schema") or {},
                              entry.get("description") or "")
                         for entry in body.get("tools") or []
                         if isinstance(entry, dict) and isinstance(entry.get("name"), str)
                         and entry.get("type", "custom") == "custom"]
        if request.tools:
            request.tool_choice, request.parallel_tool_calls = _tool_choice(
                body.get("tool_choice"), request.tools)
            request.definition_tokens += estimate_tokens(dumps(body.get("tools")))
        config = body.get("output_config")
        fmt = config.get("format") if isinstance(config, dict) else body.get("output_format")
        if isinstance(fmt, dict) and fmt.get("type") == "json_schema":
            if not isinstance(fmt.get("schema"), dict):
                raise BadRequest("output_config.format.schema: Field required")
            request.schema = fmt["schema"]
            request.json_mode = True
            request.definition_tokens += estimate_tokens(dumps(fmt["schema"]))
        request.stream = body.get("stream") is True
        request.max_tokens = body["max_tokens"] if body["max_tokens"] > 0 else None
        return request

    # -- the answer --------------------------------------------------------------------
    def _content(self, completion: Completion) -> list[dict[str, Any]]:
        refusal = completion.extra.get("refusal")
        blocks: list[dict[str, Any]] = []
        if refusal:
            return [{"type": "text", "text": refusal}]
        if completion.content:
            blocks.append({"type": "text", "text": completion.content})
        for call in completion.tool_calls:
            blocks.append({"type": "tool_use", "id": "toolu_" + call.id, "name": call.name,
                           "input": arguments_object(call.arguments) or {}})
        return blocks

    @staticmethod
    def _stop_reason(completion: Completion) -> str:
        if completion.extra.get("refusal"):
            return "refusal"
        return STOP_REASONS.get(completion.finish_reason, "end_turn")

    @staticmethod
    def _usage(completion: Completion, output_tokens: int) -> dict[str, Any]:
        return {"input_tokens": completion.tokens_in, "output_tokens": output_tokens,
                "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}

    def _message(self, completion: Completion, reply: Reply, content: list[Any],
                 stop_reason: str | None, output_tokens: int) -> dict[str, Any]:
        return {"id": f"msg_sim{reply.serial:08d}", "type": "message", "role": "assistant",
                "model": reply.model, "content": content, "stop_reason": stop_reason,
                "stop_sequence": None, "usage": self._usage(completion, output_tokens)}

    def render(self, request: Request, completion: Completion, reply: Reply) -> bytes:
        return dumps(self._message(completion, reply, self._content(completion),
                                        self._stop_reason(completion),
                                        completion.tokens_out)).encode()

    def stream(self, request: Request, completion: Completion, reply: Reply) -> StreamPlan:
        out = StreamBuilder(reply.per_token)

        def emit(kind: str, data: dict[str, Any], text: str | None = None) -> None:
            chunk = event({"type": kind, **data}, kind)
            if text is None:
                out.send(chunk)
            else:
                out.say(text, chunk)

        emit("message_start", {"message": self._message(completion, reply, [], None, 1)})
        refusal = completion.extra.get("refusal")
        index = 0
        text = refusal or completion.content
        if text:
            emit("content_block_start", {"index": index,
                                         "content_block": {"type": "text", "text": ""}})
            emit("ping", {})
            for piece in pieces(text):
                emit("content_block_delta", {"index": index, "delta": {
                    "type": "text_delta", "text": piece}}, piece)
            emit("content_block_stop", {"index": index})
            index += 1
        for call in [] if refusal else completion.tool_calls:
            emit("content_block_start", {"index": index, "content_block": {
                "type": "tool_use", "id": "toolu_" + call.id, "name": call.name, "input": {}}})
            for piece in pieces(call.arguments):
                emit("content_block_delta", {"index": index, "delta": {
                    "type": "input_json_delta", "partial_json": piece}}, piece)
            emit("content_block_stop", {"index": index})
            index += 1
        closing = [
            event({"type": "message_delta", "delta": {"stop_reason": self._stop_reason(
                completion), "stop_sequence": None},
                "usage": {"output_tokens": completion.tokens_out}}, "message_delta"),
            event({"type": "message_stop"}, "message_stop"),
        ]
        return out.plan(closing)

    # -- errors and headers ------------------------------------------------------------
    def error(self, status: int, message: str, code: str | None,
              kind: str = "invalid_request_error",
              headers: list[tuple[str, str]] | None = None) -> SimResponse:
        body = {"type": "error", "error": {"type": ERROR_TYPES.get(status, "api_error"),
                                           "message": message},
                "request_id": None}
        return SimResponse(status, dumps(body).encode(),
                           [*JSON_HEADERS, *(headers or [])])

    def rate_limit_headers(self, state: RateLimitState, now_epoch: float) -> list[tuple[str, str]]:
        reset = datetime.fromtimestamp(now_epoch + state.reset_s, UTC)
        return [("anthropic-ratelimit-requests-limit", state.limit_text),
                ("anthropic-ratelimit-requests-remaining", str(state.remaining)),
                ("anthropic-ratelimit-requests-reset", reset.strftime("%Y-%m-%dT%H:%M:%SZ"))]

    def reshape(self, response: SimResponse) -> SimResponse:
        """A fault's OpenAI-shaped error (429, 5xx, 400) in Anthropic's shape."""
        if response.status < 400:
            return response
        try:
            body = json.loads(response.body)
        except ValueError:
            body = None
        if isinstance(body, dict) and body.get("type") == "error":
            return response
        message = response.body.decode(errors="replace")
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            message = str(body["error"].get("message", message))
        headers = [(k, v) for k, v in response.headers if k.lower() != "content-type"]
        return self.error(response.status, message, None, headers=headers)

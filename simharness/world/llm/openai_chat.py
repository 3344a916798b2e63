"""OpenAI Chat Completions, `POST /v1/chat/completions`.

Served: `messages` (text or content parts, tool and function results), `tools` and
`tool_choice` (auto, none, required, a named function), `parallel_tool_calls`, the legacy
`functions` / `function_call`, `response_format` (`text`, `json_object`, `json_schema`,
strict or not, as `client.chat.completions.parse()` sends it), `max_tokens` /
`max_completion_tokens`, and streaming (`stream`, `stream_options.include_usage`): content,
refusal and tool-call argument deltas, then the finish reason, usage and `[DONE]`.
"""

from __future__ import annotations

from json.encoder import encode_basestring_ascii
from typing import Any

from fault_injectors import Completion, StreamPlan

from ..json_text import dumps
from .judgement import estimate_tokens
from .provider import Provider, Reply
from .request import AUTO, NONE, REQUIRED, BadRequest, Request, Tool
from .sse import DONE, StreamBuilder, event, pieces

# Request fields beyond model and messages that change the answer.
_OPTIONS = frozenset({"tools", "functions", "tool_choice", "function_call", "response_format",
                      "stream", "stream_options", "max_tokens", "max_completion_tokens",
                      "parallel_tool_calls"})


def _prompt_text(messages: list[Any]) -> str:
    parts: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(p.get("text", "") for p in content if isinstance(p, dict))
    return "\n".join(parts)


def _tools(body: dict[str, Any]) -> tuple[list[Tool], bool]:
    """The functions offered, and whether they came in the legacy `functions` form."""
    tools: list[Tool] = []
    legacy = False
    for entry in body.get("tools") or []:
        function = entry.get("function") if isinstance(entry, dict) else None
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            tools.append(Tool(function["name"], function.get("parameters") or {},
                              function.get("description") or ""))
    for function in body.get("functions") or []:
        if isinstance(function, dict) and isinstance(function.get("name"), str):
            legacy = True
            tools.append(Tool(function["name"], function.get("parameters") or {},
                              function.get("description") or ""))
    return tools, legacy


def _tool_choice(body: dict[str, Any], tools: list[Tool]) -> str:
    choice = body.get("tool_choice", body.get("function_call", AUTO))
    if choice is None:
        return AUTO
    if isinstance(choice, str):
        if choice not in (AUTO, NONE, REQUIRED):
            raise BadRequest(f"Invalid value for 'tool_choice': {choice!r}.", "tool_choice")
        return choice
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name") if "function" in choice else \
            choice.get("name")
        if isinstance(name, str):
            if not any(t.name == name for t in tools):
                raise BadRequest(f"Invalid value for 'tool_choice': function {name!r} is not "
                                 "among the tools.", "tool_choice")
            return name
    return AUTO


def _answered(messages: list[Any]) -> set[str]:
    """Tools whose results are in the conversation."""
    names: dict[str, str] = {}
    answered: set[str] = set()
    for message in messages:
        if not isinstance(message, dict):
            continue
        for call in message.get("tool_calls") or []:
            if isinstance(call, dict):
                names[call.get("id", "")] = (call.get("function") or {}).get("name", "")
        role = message.get("role")
        if role == "tool":
            name = names.get(message.get("tool_call_id", ""))
            if name:
                answered.add(name)
        elif role == "function" and isinstance(message.get("name"), str):
            answered.add(message["name"])
    return answered


def _output(body: dict[str, Any], request: Request) -> None:
    response_format = body.get("response_format")
    if not isinstance(response_format, dict):
        return
    kind = response_format.get("type")
    if kind == "json_object":
        request.json_mode = True
    elif kind == "json_schema":
        spec = response_format.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("schema", {}), dict):
            raise BadRequest("Missing required parameter: 'response_format.json_schema'.",
                             "response_format")
        request.schema = spec.get("schema") or {"type": "object"}
        request.json_mode = True


class OpenAIChat(Provider):
    """The chat completions wire format."""

    name = "openai"

    def parse(self, body: Any) -> Request:
        if not isinstance(body, dict) or not isinstance(body.get("messages"), list):
            raise BadRequest("'messages' is a required property", "messages")
        messages = body["messages"]
        request = Request(str(body.get("model")), _prompt_text(messages), len(messages))
        if body.keys().isdisjoint(_OPTIONS):
            return request  # the plain call: nothing more to read
        request.tools, legacy = _tools(body)
        if request.tools:
            request.tool_choice = _tool_choice(body, request.tools)
            request.answered = _answered(messages)
            request.parallel_tool_calls = body.get("parallel_tool_calls") is not False
            request.definition_tokens += estimate_tokens(dumps(
                body.get("tools") or body.get("functions")))
        _output(body, request)
        if request.schema is not None:
            request.definition_tokens += estimate_tokens(dumps(request.schema))
        request.stream = body.get("stream") is True
        options = body.get("stream_options")
        request.include_usage = isinstance(options, dict) and options.get("include_usage") is True
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        request.max_tokens = limit if isinstance(limit, int) and limit > 0 else None
        if legacy:
            request.wire = {"legacy_functions": True}
        return request

    # -- a whole response --------------------------------------------------------------
    def render(self, request: Request, completion: Completion, reply: Reply) -> bytes:
        if not completion.extra and not completion.tool_calls:
            plain = _plain_answer(completion, reply)
            if plain is not None:
                return plain
        message: dict[str, Any] = {"role": "assistant", "content": completion.content}
        refusal = completion.extra.get("refusal")
        message.update(completion.extra)
        finish = completion.finish_reason
        if refusal and completion.structured:
            message["content"] = None
        elif completion.tool_calls:
            if request.note("legacy_functions"):
                call = completion.tool_calls[0]
                message["function_call"] = {"name": call.name, "arguments": call.arguments}
                finish = "function_call"
            else:
                message["tool_calls"] = [
                    {"id": "call_" + c.id, "type": "function",
                     "function": {"name": c.name, "arguments": c.arguments}}
                    for c in completion.tool_calls]
        payload = {
            "id": f"chatcmpl-sim{reply.serial:08d}",
            "object": "chat.completion",
            "created": reply.created,
            "model": reply.model,
            "choices": [{"index": 0, "finish_reason": finish, "logprobs": None,
                         "message": message}],
            "usage": _usage(completion),
        }
        return dumps(payload).encode()

    # -- a stream ----------------------------------------------------------------------
    def stream(self, request: Request, completion: Completion, reply: Reply) -> StreamPlan:
        head = {"id": f"chatcmpl-sim{reply.serial:08d}", "object": "chat.completion.chunk",
                "created": reply.created, "model": reply.model}
        usage_field = {"usage": None} if request.include_usage else {}

        def chunk(delta: dict[str, Any], finish: str | None = None) -> bytes:
            return event({**head, "choices": [{"index": 0, "delta": delta, "logprobs": None,
                                              "finish_reason": finish}], **usage_field})

        out = StreamBuilder(reply.per_token)
        out.send(chunk({"role": "assistant", "content": ""}))
        refusal = completion.extra.get("refusal")
        finish = completion.finish_reason
        if refusal:
            for piece in pieces(refusal):
                out.say(piece, chunk({"refusal": piece}))
        elif completion.tool_calls and request.note("legacy_functions"):
            call = completion.tool_calls[0]
            out.send(chunk({"function_call": {"name": call.name, "arguments": ""}}))
            for piece in pieces(call.arguments):
                out.say(piece, chunk({"function_call": {"arguments": piece}}))
            finish = "function_call"
        elif completion.tool_calls:
            for index, call in enumerate(completion.tool_calls):
                out.send(chunk({"tool_calls": [{
                    "index": index, "id": "call_" + call.id, "type": "function",
                    "function": {"name": call.name, "arguments": ""}}]}))
                for piece in pieces(call.arguments):
                    out.say(piece, chunk({"tool_calls": [{
                        "index": index, "function": {"arguments": piece}}]}))
        else:
            for piece in pieces(completion.content):
                out.say(piece, chunk({"content": piece}))
        closing = [chunk({}, finish)]
        if request.include_usage:
            closing.append(event({**head, "choices": [], "usage": _usage(completion)}))
        closing.append(DONE)
        return out.plan(closing)


def _plain_answer(completion: Completion, reply: Reply) -> bytes | None:
    """The body `render` gives a text answer (no tool calls, nothing a fault added),
    written straight into its template: the same bytes as encoding the whole payload, for
    a fraction of the cost. None when a field is not what the template expects."""
    content, finish = completion.content, completion.finish_reason
    tokens_in, tokens_out = completion.tokens_in, completion.tokens_out
    if not (type(tokens_in) is int and type(tokens_out) is int and type(reply.serial) is int
            and type(reply.created) is int and type(reply.model) is str
            and type(finish) is str and (content is None or type(content) is str)):
        return None
    text = "null" if content is None else encode_basestring_ascii(content)
    return (f'{{"id": "chatcmpl-sim{reply.serial:08d}", "object": "chat.completion", '
            f'"created": {reply.created}, "model": {encode_basestring_ascii(reply.model)}, '
            f'"choices": [{{"index": 0, "finish_reason": {encode_basestring_ascii(finish)}, '
            f'"logprobs": null, "message": {{"role": "assistant", "content": {text}}}}}], '
            f'"usage": {{"prompt_tokens": {tokens_in}, "completion_tokens": {tokens_out}, '
            f'"total_tokens": {tokens_in + tokens_out}}}}}').encode()


def _usage(completion: Completion) -> dict[str, int]:
    return {"prompt_tokens": completion.tokens_in, "completion_tokens": completion.tokens_out,
            "total_tokens": completion.tokens_in + completion.tokens_out}

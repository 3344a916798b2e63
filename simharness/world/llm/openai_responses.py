"""OpenAI Responses API, `POST /v1/responses`.

Served: `instructions`, `input` (a string, or a list of items: messages with text parts,
`function_call` and `function_call_output`), `previous_response_id` (the last few thousand
responses of the run are kept), function `tools` and `tool_choice`,
`parallel_tool_calls`, `text.format` (`text`, `json_object`, `json_schema`, as
`client.responses.parse()` sends it), `max_output_tokens`, and streaming events
(`response.created`, `response.output_item.added`, `response.output_text.delta`,
`response.function_call_arguments.delta`, ..., `response.completed`).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

from fault_injectors import Completion, StreamPlan

from ..json_text import dumps
from .judgement import estimate_tokens
from .provider import Provider, Reply
from .request import AUTO, NONE, REQUIRED, BadRequest, Request, Tool, text_of
from .sse import StreamBuilder, event, pieces

#: Responses kept for `previous_response_id`.
KEPT_RESPONSES = 4096


def _tool_choice(choice: Any, tools: list[Tool]) -> str:
    if choice is None or choice in (AUTO, NONE, REQUIRED):
        return choice or AUTO
    if isinstance(choice, dict) and choice.get("type") == "function":
        name = choice.get("name")
        if not any(t.name == name for t in tools):
            raise BadRequest(f"Tool choice '{name}' not found in 'tools' parameter.",
                             "tool_choice")
        return str(name)
    if isinstance(choice, str):
        raise BadRequest(f"Invalid value: {choice!r}.", "tool_choice")
    return AUTO


class _History:
    """What an earlier response's conversation held, for `previous_response_id`."""

    __slots__ = ("prompt", "turns", "calls", "answered")

    def __init__(self, prompt: str, turns: int, calls: dict[str, str],
                 answered: set[str]) -> None:
        self.prompt = prompt
        self.turns = turns
        self.calls = calls
        self.answered = answered


class OpenAIResponses(Provider):
    """The Responses wire format."""

    name = "openai"

    def __init__(self) -> None:
        self._kept: OrderedDict[str, _History] = OrderedDict()

    def parse(self, body: Any) -> Request:
        if not isinstance(body, dict) or "model" not in body:
            raise BadRequest("Missing required parameter: 'model'.", "model")
        previous = body.get("previous_response_id")
        history = _History("", 0, {}, set())
        if previous is not None:
            kept = self._kept.get(previous)
            if kept is None:
                raise BadRequest(f"Previous response with id '{previous}' not found.",
                                 "previous_response_id")
            history = _History(kept.prompt, kept.turns, dict(kept.calls), set(kept.answered))
        texts = [history.prompt] if history.prompt else []
        turns = history.turns
        instructions = body.get("instructions")
        if isinstance(instructions, str) and instructions:
            texts.append(instructions)
            turns += 1
        items = body.get("input")
        if isinstance(items, str):
            texts.append(items)
            turns += 1
        elif isinstance(items, list):
            for item in items:
                turns += self._read_item(item, texts, history)
        elif items is not None:
            raise BadRequest("Invalid type for 'input': expected a string or an array.",
                             "input")
        request = Request(str(body.get("model")), "\n".join(texts), turns)
        request.answered = history.answered
        request.tools = [Tool(entry["name"], entry.get("parameters") or {},
                              entry.get("description") or "")
                         for entry in body.get("tools") or []
                         if isinstance(entry, dict) and entry.get("type") == "function"
                         and isinstance(entry.get("name"), str)]
        if request.tools:
            request.tool_choice = _tool_choice(body.get("tool_choice"), request.tools)
            request.parallel_tool_calls = body.get("parallel_tool_calls") is not False
            request.definition_tokens += estimate_tokens(dumps(body.get("tools")))
        text = body.get("text")
        fmt = text.get("format") if isinstance(text, dict) else None
        if isinstance(fmt, dict):
            if fmt.get("type") == "json_schema":
                if not isinstance(fmt.get("schema"), dict):
                    raise BadRequest("Missing required parameter: 'text.format.schema'.",
                                     "text.format.schema")
                request.schema = fmt["schema"]
                request.json_mode = True
                request.definition_tokens += estimate_tokens(dumps(fmt["schema"]))
            elif fmt.get("type") == "json_object":
                request.json_mode = True
        request.stream = body.get("stream") is True
        limit = body.get("max_output_tokens")
        request.max_tokens = limit if isinstance(limit, int) and limit > 0 else None
        request.wire = {"calls": history.calls, "echo": {
            "instructions": instructions, "tools": body.get("tools") or [],
            "tool_choice": body.get("tool_choice", "auto"),
            "parallel_tool_calls": request.parallel_tool_calls,
            "previous_response_id": previous, "max_output_tokens": body.get("max_output_tokens"),
            "temperature": body.get("temperature", 1.0), "top_p": body.get("top_p", 1.0),
            "text": {"format": fmt if isinstance(fmt, dict) else {"type": "text"}},
            "metadata": body.get("metadata") or {}, "store": body.get("store", True),
        }}
        return request

    @staticmethod
    def _read_item(item: Any, texts: list[str], history: _History) -> int:
        """Read one input item; the number of turns it adds."""
        if isinstance(item, str):
            texts.append(item)
            return 1
        if not isinstance(item, dict):
            return 0
        kind = item.get("type", "message")
        if kind == "message":
            text = text_of(item.get("content"))
            if text:
                texts.append(text)
            return 1
        if kind == "function_call":
            history.calls[str(item.get("call_id"))] = str(item.get("name"))
            return 1
        if kind == "function_call_output":
            name = history.calls.get(str(item.get("call_id")))
            if name:
                history.answered.add(name)
            output = item.get("output")
            texts.append(output if isinstance(output, str) else text_of(output))
            return 1
        return 0

    # -- the answer --------------------------------------------------------------------
    def _output(self, completion: Completion, reply: Reply) -> list[dict[str, Any]]:
        serial = f"{reply.serial:08d}"
        refusal = completion.extra.get("refusal")
        if completion.tool_calls:
            return [{"type": "function_call", "id": f"fc_{c.id}", "call_id": f"call_{c.id}",
                     "name": c.name, "arguments": c.arguments, "status": "completed"}
                    for c in completion.tool_calls]
        if refusal:
            part: dict[str, Any] = {"type": "refusal", "refusal": refusal}
        else:
            part = {"type": "output_text", "text": completion.content or "", "annotations": [],
                    "logprobs": []}
        return [{"type": "message", "id": f"msg_sim{serial}", "status": "completed",
                 "role": "assistant", "content": [part]}]

    def _response(self, request: Request, completion: Completion, reply: Reply,
                  output: list[dict[str, Any]], status: str) -> dict[str, Any]:
        incomplete = status == "incomplete"
        return {
            "id": f"resp_sim{reply.serial:08d}", "object": "response",
            "created_at": reply.created, "status": status, "error": None,
            "incomplete_details": {"reason": "max_output_tokens"} if incomplete else None,
            "model": reply.model, "output": output, "reasoning": {"effort": None,
                                                                 "summary": None},
            "truncation": "disabled", "user": None, "service_tier": "default",
            **request.note("echo"),
            "usage": None if status == "in_progress" else {
                "input_tokens": completion.tokens_in,
                "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
                "output_tokens": completion.tokens_out,
                "output_tokens_details": {"reasoning_tokens": 0},
                "total_tokens": completion.tokens_in + completion.tokens_out},
        }

    def _keep(self, request: Request, completion: Completion, reply: Reply) -> None:
        calls = dict(request.note("calls"))
        said = completion.content or ""
        for call in completion.tool_calls:
            calls[f"call_{call.id}"] = call.name
            said += "\n" + call.arguments
        self._kept[f"resp_sim{reply.serial:08d}"] = _History(
            request.prompt + "\n" + said, request.turns + 1, calls, set(request.answered))
        if len(self._kept) > KEPT_RESPONSES:
            self._kept.popitem(last=False)

    def render(self, request: Request, completion: Completion, reply: Reply) -> bytes:
        self._keep(request, completion, reply)
        status = "incomplete" if completion.finish_reason == "length" else "completed"
        output = self._output(completion, reply)
        return dumps(self._response(request, completion, reply, output, status)).encode()

    def stream(self, request: Request, completion: Completion, reply: Reply) -> StreamPlan:
        self._keep(request, completion, reply)
        out = StreamBuilder(reply.per_token)
        sequence = 0

        def emit(kind: str, data: dict[str, Any], text: str | None = None) -> bytes:
            nonlocal sequence
            chunk = event({"type": kind, "sequence_number": sequence, **data}, kind)
            sequence += 1
            if text is None:
                out.send(chunk)
            else:
                out.say(text, chunk)
            return chunk

        emit("response.created", {"response": self._response(
            request, completion, reply, [], "in_progress")})
        emit("response.in_progress", {"response": self._response(
            request, completion, reply, [], "in_progress")})
        output = self._output(completion, reply)
        for index, item in enumerate(output):
            if item["type"] == "function_call":
                emit("response.output_item.added", {"output_index": index, "item": {
                    **item, "arguments": "", "status": "in_progress"}})
                for piece in pieces(item["arguments"]):
                    emit("response.function_call_arguments.delta", {
                        "item_id": item["id"], "output_index": index, "delta": piece}, piece)
                emit("response.function_call_arguments.done", {
                    "item_id": item["id"], "output_index": index, "name": item["name"],
                    "arguments": item["arguments"]})
            else:
                emit("response.output_item.added", {"output_index": index, "item": {
                    **item, "content": [], "status": "in_progress"}})
                part = item["content"][0]
                where = {"item_id": item["id"], "output_index": index, "content_index": 0}
                if part["type"] == "refusal":
                    emit("response.content_part.added", {**where, "part": {
                        "type": "refusal", "refusal": ""}})
                    for piece in pieces(part["refusal"]):
                        emit("response.refusal.delta", {**where, "delta": piece}, piece)
                    emit("response.refusal.done", {**where, "refusal": part["refusal"]})
                else:
                    emit("response.content_part.added", {**where, "part": {
                        **part, "text": ""}})
                    for piece in pieces(part["text"]):
                        emit("response.output_text.delta", {**where, "delta": piece,
                                                            "logprobs": []}, piece)
                    emit("response.output_text.done", {**where, "text": part["text"],
                                                       "logprobs": []})
                emit("response.content_part.done", {**where, "part": part})
            emit("response.output_item.done", {"output_index": index, "item": item})
        status = "incomplete" if completion.finish_reason == "length" else "completed"
        final = event({"type": f"response.{status}", "sequence_number": sequence,
                       "response": self._response(request, completion, reply, output, status)},
                      f"response.{status}")
        return out.plan([final])

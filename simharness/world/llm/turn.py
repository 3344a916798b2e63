"""What the model does with its turn: call tools, or answer in the form the request asked.

- A lookup tool (its parameters ask for a customer / account / order id or an email) that
  has no result in the conversation yet is called first, with the id the prompt shows
  (unless the prompt already shows the customer's account value); several such tools are
  called in parallel unless the request forbids it.
- Then a tool that fits routing (its parameters have a route field) is called with the
  judgement, unless its result is already in the conversation.
- Otherwise the model answers: a filled JSON Schema when the request gives one (or the
  prompt spells one out, as prompted-output modes do), else the scenario's text format.

`tool_choice` is honoured: `none` answers in text, `required` always calls a tool, and a
named tool is the one called. The route is judged once per answered turn; a turn that
only looks something up draws no luck, so an agent that looks up the customer first
meets the same luck as one that does not.
"""

from __future__ import annotations

import json
import math
from json.encoder import encode_basestring_ascii
from typing import Any

from fault_injectors import Completion, ToolCall

from ...records import EventScope
from ..json_text import dumps
from .judgement import Identifiers, Judge, Judgement, estimate_tokens
from .request import AUTO, NONE, REQUIRED, Request, Tool
from .schema_fields import carries_route, lookup_parameter
from .schema_fill import SchemaFiller

# What a lookup call knows about the ticket: nothing (no luck is drawn for it).
_NEUTRAL = Judgement(routes=[], confidence=0.5)


class Turn:
    """Builds the model's answer to one request, before faults and rendering."""

    def __init__(self, judge: Judge, taxonomy: list[str], text_format: str) -> None:
        self.judge = judge
        self.taxonomy = taxonomy
        self.text_format = text_format
        self._calls = 0

    def answer(self, request: Request, tier: Any, scope: EventScope | None,
               accuracy_factor: float, tokens_in: int) -> Completion:
        """The answer before faults; `tokens_in` is the request's prompt size."""
        if request.tools and request.tool_choice != NONE:
            completion = self._tool_turn(request, tier, scope, accuracy_factor)
            if completion is not None:
                completion.tokens_in = tokens_in
                return completion
        schema = request.schema
        if schema is None and '"properties"' in request.prompt:
            schema = schema_in_prompt(request.prompt)
        if schema is not None:
            judgement = self.judge.judge(request.prompt, tier, scope, accuracy_factor,
                                         escalation=True)
            filled = SchemaFiller(judgement, self.taxonomy,
                                  self.judge.identifiers(request.prompt, scope)).fill(schema)
            content = dumps(filled.value)
            completion = Completion(content, judgement.routes, self.taxonomy, tokens_in,
                                    estimate_tokens(content) + 1, data=filled.value,
                                    route_key=filled.route_key,
                                    confidence_key=filled.confidence_key, structured=True)
        else:
            # A prompt that spells out an "escalate" key in the JSON it wants gets one.
            asks = '"escalate"' in request.prompt
            judgement = self.judge.judge(request.prompt, tier, scope, accuracy_factor,
                                         escalation=asks)
            completion = self._text(judgement, tokens_in, request.json_mode, asks)
        if request.tools:
            completion.tools = [t.name for t in request.tools]
        return _limit(completion, request.max_tokens) if request.max_tokens else completion

    def _text(self, judgement: Judgement, tokens_in: int, json_mode: bool,
              with_escalation: bool) -> Completion:
        routes = judgement.routes
        if self.text_format == "label" and not json_mode:
            content = ", ".join(routes)
            return Completion(content, routes, self.taxonomy, tokens_in,
                              estimate_tokens(content) + 1)
        route: str | list[str] = routes[0] if len(routes) == 1 else routes
        confidence = round(judgement.confidence, 2)
        data: dict[str, Any] = {"route": route, "confidence": confidence}
        if with_escalation:
            data["escalate"] = judgement.escalate
            content = dumps(data)
        elif type(route) is str and type(confidence) is float and math.isfinite(confidence):
            # what dumps(data) writes, without encoding a dict
            content = ('{"route": ' + encode_basestring_ascii(route) + ', "confidence": '
                       + repr(confidence) + "}")
        else:
            content = dumps(data)
        return Completion(content, routes, self.taxonomy, tokens_in,
                          estimate_tokens(content) + 1, data=data, route_key="route",
                          confidence_key="confidence", structured=json_mode)

    # -- tools -----------------------------------------------------------------------
    def _tool_turn(self, request: Request, tier: Any, scope: EventScope | None,
                   accuracy_factor: float) -> Completion | None:
        choice = request.tool_choice
        ids = self.judge.identifiers(request.prompt, scope)
        forced = request.tool(choice) if choice not in (AUTO, REQUIRED) else None
        if forced is not None:
            lookup = self._lookup_call(forced, ids)
            if lookup is not None and not carries_route(forced.parameters, self.taxonomy):
                return self._calls_completion(request, [lookup], None)
            return self._routing_call(request, forced, tier, scope, accuracy_factor, ids)
        # A customer already shown with their account value needs no lookup.
        known = bool(self.judge.account_values(request.prompt, scope))
        lookups = [call for tool in request.tools if tool.name not in request.answered
                   if (call := self._lookup_call(tool, ids, known)) is not None]
        if lookups:
            return self._calls_completion(request, lookups if request.parallel_tool_calls
                                          else lookups[:1], None)
        routing = [t for t in request.tools if carries_route(t.parameters, self.taxonomy)]
        pending = [t for t in routing if t.name not in request.answered]
        if pending:
            target = pending[0]
        elif choice == REQUIRED:
            target = (routing or request.tools)[0]
        else:
            return None
        return self._routing_call(request, target, tier, scope, accuracy_factor, ids)

    def _lookup_call(self, tool: Tool, ids: Identifiers,
                     customer_known: bool = False) -> ToolCall | None:
        param = lookup_parameter(tool.parameters, tool.name)
        value = ids.for_parameter(param) if param else None
        if param is None or value is None:
            return None
        if customer_known and "order" not in param.lower():
            return None
        arguments = SchemaFiller(_NEUTRAL, self.taxonomy, ids).fill(tool.parameters).value
        if not isinstance(arguments, dict):
            return None
        arguments[param] = value
        return self._call(tool.name, arguments)

    def _routing_call(self, request: Request, tool: Tool, tier: Any, scope: EventScope | None,
                      accuracy_factor: float, ids: Identifiers) -> Completion:
        judgement = self.judge.judge(request.prompt, tier, scope, accuracy_factor,
                                     escalation=True)
        filled = SchemaFiller(judgement, self.taxonomy, ids).fill(tool.parameters)
        call = self._call(tool.name, filled.value)
        return self._calls_completion(request, [call], judgement, filled.value,
                                      filled.route_key, filled.confidence_key)

    def _call(self, name: str, arguments: Any) -> ToolCall:
        self._calls += 1
        return ToolCall(f"sim{self._calls:010d}", name, dumps(arguments))

    def _calls_completion(self, request: Request, calls: list[ToolCall],
                          judgement: Judgement | None, data: Any = None,
                          route_key: str | None = None,
                          confidence_key: str | None = None) -> Completion:
        tokens_out = 1 + sum(estimate_tokens(c.name + c.arguments) for c in calls)
        if data is None:
            data = json.loads(calls[0].arguments)
        return Completion(None, judgement.routes if judgement else [], self.taxonomy, 0,
                          tokens_out, finish_reason="tool_calls", tool_calls=calls,
                          tools=[t.name for t in request.tools], data=data,
                          route_key=route_key, confidence_key=confidence_key, structured=True)


def _limit(completion: Completion, max_tokens: int | None) -> Completion:
    """An answer longer than the request's `max_tokens` is cut there (finish: length)."""
    if max_tokens is None or completion.tokens_out <= max_tokens or not completion.content:
        return completion
    completion.content = completion.content[: max(0, max_tokens - 1) * 4]
    completion.tokens_out = max_tokens
    completion.finish_reason = "length"
    return completion


def schema_in_prompt(prompt: str) -> dict[str, Any] | None:
    """A JSON Schema the prompt spells out (prompted-output modes paste one in), if any."""
    decoder = json.JSONDecoder()
    start = prompt.find("{")
    while start != -1:
        try:
            value, _end = decoder.raw_decode(prompt, start)
        except ValueError:
            value = None
        if isinstance(value, dict):
            for candidate in (value, value.get("schema"), value.get("json_schema")):
                if isinstance(candidate, dict) and isinstance(candidate.get("properties"), dict):
                    return candidate
                if isinstance(candidate, dict) and isinstance(candidate.get("schema"), dict):
                    inner = candidate["schema"]
                    if isinstance(inner.get("properties"), dict):
                        return inner
        start = prompt.find("{", start + 1)
    return None

"""LLM semantic faults: the endpoint answers, but not with what the agent hoped for.

Targets: `llm` (every tier) or `llm.<tier>`. They act on the model's answer before any API
renders it, so each works on every API: a refusal is an apology in the content (a
`refusal` field, a refusal block), broken JSON is broken content or broken tool-call
arguments, wrong fields are wrong fields of a schema answer or of a tool call.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import Field

from . import register
from .base import Call, Completion, FaultInjector, ParamsModel

REFUSAL_TEXT = "I'm sorry, but I can't help with that request."
OFF_TAXONOMY_LABELS = ("general_inquiry", "other", "sales", "feedback", "urgent")


def _route_value(routes: list[str]) -> str | list[str]:
    return routes[0] if len(routes) == 1 else routes


def _answer_data(completion: Completion) -> tuple[Any, str | None]:
    """The answer as data and its route key; a plain label answer reads as {"route": ...}.
    (None, None) for a turn that carries no answer (a lookup call)."""
    if completion.data is not None:
        if completion.route_key is None and completion.tool_calls and not completion.routes:
            return None, None
        return completion.data, completion.route_key
    if completion.tool_calls:
        return None, None
    return {"route": _route_value(completion.routes)}, "route"


@register
class Refusal(FaultInjector):
    """The model refuses: the content is an apology, not an answer.

    `{name: llm-refuses, target: llm, kind: refusal, probability: 0.2, at: 10m, duration: 10m}`
    """

    kind = "refusal"
    family = "llm"

    def rewrite(self, call: Call, completion: Completion) -> None:
        completion.content = REFUSAL_TEXT
        completion.extra["refusal"] = REFUSAL_TEXT
        completion.tool_calls.clear()
        completion.finish_reason = "stop"


class OffTaxonomyParams(ParamsModel):
    label: str | None = Field(None, description="the label to answer (default: one of "
                              + ", ".join(OFF_TAXONOMY_LABELS) + ")")


@register
class OffTaxonomy(FaultInjector):
    """The model answers with a label that is not one of the routes.

    `{name: llm-invents, target: llm.small, kind: off_taxonomy, probability: 0.3}`
    """

    kind = "off_taxonomy"
    family = "llm"
    Params = OffTaxonomyParams
    params: OffTaxonomyParams

    def rewrite(self, call: Call, completion: Completion) -> bool | None:
        data, key = _answer_data(completion)
        if data is None:
            return False
        label = self.params.label or OFF_TAXONOMY_LABELS[self.rng.randrange(len(OFF_TAXONOMY_LABELS))]
        if completion.data is None or not isinstance(data, dict) or key is None:
            completion.payload = json.dumps({"route": label, "confidence": 0.9})
            return None
        data = dict(data)
        data[key] = [label] if isinstance(data[key], list) and completion.structured else label
        if completion.confidence_key:
            data[completion.confidence_key] = 0.9
        completion.payload = json.dumps(data)
        return None


class InvalidJSONParams(ParamsModel):
    mode: Literal["truncated", "prose", "mixed"] = Field(
        "mixed", description="truncated JSON, prose around the answer, or either")


@register
class InvalidJSON(FaultInjector):
    """The content is not valid JSON: cut off mid-object, or prose around the answer.

    `{name: llm-bad-json, target: llm, kind: invalid_json, mode: truncated, probability: 0.25}`
    """

    kind = "invalid_json"
    family = "llm"
    Params = InvalidJSONParams
    params: InvalidJSONParams

    def rewrite(self, call: Call, completion: Completion) -> None:
        mode = self.params.mode
        if mode == "mixed":
            mode = "truncated" if self.rng.random() < 0.5 else "prose"
        if mode == "truncated":
            text = completion.payload or ""
            cut = 1 + self.rng.randrange(max(1, len(text) - 2))
            completion.payload = text[:cut]
            completion.finish_reason = "length"
        else:
            routes = " and ".join(completion.routes) or "unclear"
            completion.payload = f"Sure! Based on the message, this ticket is about {routes}."


class EmptyParams(ParamsModel):
    null: bool = Field(False, description="content null instead of an empty string")


@register
class EmptyCompletion(FaultInjector):
    """The model returns no content at all ("" or null).

    `{name: llm-empty, target: llm, kind: empty_completion, probability: 0.1}`
    """

    kind = "empty_completion"
    family = "llm"
    Params = EmptyParams
    params: EmptyParams

    def rewrite(self, call: Call, completion: Completion) -> None:
        completion.content = None if self.params.null else ""
        completion.tool_calls.clear()
        completion.finish_reason = "stop"
        completion.tokens_out = 0


class ContextParams(ParamsModel):
    limit: int | None = Field(None, ge=1, description="context limit in tokens during the "
                              "fault; omit to reject every call")


@register
class ContextOverflow(FaultInjector):
    """400 `context_length_exceeded`: forced, or when the prompt is over `limit` tokens.

    `{name: llm-small-context, target: llm.small, kind: context_overflow, limit: 200}`
    """

    kind = "context_overflow"
    family = "llm"
    Params = ContextParams
    params: ContextParams

    def before(self, call: Call) -> tuple[float, Any] | None:
        tokens = call.tokens_in or 0
        limit = self.params.limit
        if limit is not None and tokens <= limit:
            return None
        from simharness.world.http import json_error

        shown = limit if limit is not None else max(tokens - 1, 0)
        return 0.05, json_error(
            400, f"This model's maximum context length is {shown} tokens. However, your "
            f"messages resulted in {tokens} tokens. Please reduce the length of the messages.",
            "context_length_exceeded")


class FactorParams(ParamsModel):
    factor: float = Field(5.0, ge=1, description="multiplier on tokens and cost")


@register
class TokenSpike(FaultInjector):
    """Usage (and so cost) multiplied by `factor`: a verbose model or a pricing bug.

    `{name: token-storm, target: llm.large, kind: token_spike, factor: 8, at: 30m, duration: 10m}`
    """

    kind = "token_spike"
    family = "llm"
    Params = FactorParams
    params: FactorParams

    def rewrite(self, call: Call, completion: Completion) -> None:
        completion.tokens_in = round(completion.tokens_in * self.params.factor)
        completion.tokens_out = round(completion.tokens_out * self.params.factor)


class DegradedParams(ParamsModel):
    factor: float = Field(0.5, ge=0, le=1, description="multiplier on the tier's accuracy")


@register
class Degraded(FaultInjector):
    """The model gets worse: the chance of a right answer is multiplied by `factor`.

    `{name: model-regression, target: llm.large, kind: degraded, factor: 0.6, at: 1h}`
    """

    kind = "degraded"
    family = "llm"
    Params = DegradedParams
    params: DegradedParams

    def accuracy_factor(self, call: Call) -> float:
        return self.params.factor


@register
class WrongSchema(FaultInjector):
    """Valid JSON with the wrong fields (`category`/`score` instead of `route`/`confidence`).

    `{name: llm-schema-drift, target: llm, kind: wrong_schema, probability: 0.2}`
    """

    kind = "wrong_schema"
    family = "llm"

    def rewrite(self, call: Call, completion: Completion) -> bool | None:
        data, key = _answer_data(completion)
        if data is None:
            return False
        if key is not None and isinstance(data, dict):
            value = data[key]
            renamed = "label" if key == "category" else "category"
            shapes: list[Any] = [
                {renamed: value, "score": 0.9},
                {"result": {"label": value}},
                [{key: r} for r in (value if isinstance(value, list) else [value])],
            ]
        else:
            shapes = [{"result": data}, [data], {"output": json.dumps(data)}]
        completion.payload = json.dumps(shapes[self.rng.randrange(len(shapes))])
        return None


# -- tool calls --------------------------------------------------------------------------


@register
class UnknownTool(FaultInjector):
    """The model calls a tool the request did not offer (a hallucinated name).

    `{name: llm-hallucinates-tools, target: llm, kind: unknown_tool, probability: 0.2}`
    Only answers that call tools are changed.
    """

    kind = "unknown_tool"
    family = "llm"

    def rewrite(self, call: Call, completion: Completion) -> bool | None:
        if not completion.tool_calls:
            return False
        first = completion.tool_calls[0]
        offered = set(completion.tools)
        name = first.name + "_v2"
        for candidate in ("lookup", "search", "route_ticket", "get_info", name):
            if candidate not in offered:
                name = candidate
                break
        first.name = name
        return None


class MalformedArgumentsParams(ParamsModel):
    mode: Literal["truncated", "single_quotes", "python", "mixed"] = Field(
        "mixed", description="JSON cut off, single-quoted, a Python dict repr, or any")


@register
class MalformedArguments(FaultInjector):
    """A tool call's arguments are not valid JSON.

    `{name: llm-broken-args, target: llm, kind: malformed_arguments, mode: truncated, probability: 0.2}`
    Only answers that call tools are changed.
    """

    kind = "malformed_arguments"
    family = "llm"
    Params = MalformedArgumentsParams
    params: MalformedArgumentsParams

    def rewrite(self, call: Call, completion: Completion) -> bool | None:
        if not completion.tool_calls:
            return False
        modes = ("truncated", "single_quotes", "python")
        mode: str = self.params.mode
        if mode == "mixed":
            mode = modes[self.rng.randrange(len(modes))]
        first = completion.tool_calls[0]
        text = first.arguments
        if mode == "truncated":
            first.arguments = text[: 1 + self.rng.randrange(max(1, len(text) - 2))]
        elif mode == "single_quotes":
            first.arguments = text.replace('"', "'")
        else:
            try:
                first.arguments = repr(json.loads(text)) + " "
            except ValueError:
                first.arguments = text[:-1]
            if first.arguments.startswith("{}"):
                first.arguments = "{'': None"
        return None


@register
class MissingArgument(FaultInjector):
    """A tool call leaves out an argument (the route first, when it carries one).

    `{name: llm-forgets-args, target: llm, kind: missing_argument, probability: 0.2}`
    Only answers that call tools with at least one argument are changed.
    """

    kind = "missing_argument"
    family = "llm"

    def rewrite(self, call: Call, completion: Completion) -> bool | None:
        if not completion.tool_calls:
            return False
        first = completion.tool_calls[0]
        try:
            arguments = json.loads(first.arguments)
        except ValueError:
            return False
        if not isinstance(arguments, dict) or not arguments:
            return False
        key = completion.route_key if completion.route_key in arguments else next(iter(arguments))
        del arguments[key]
        first.arguments = json.dumps(arguments)
        return None

"""Fill any JSON Schema with the model's judgement.

The route goes to the field that carries it: one whose enum overlaps the routes (an array
of that enum for several labels), else one named like a route (route, category, queue,
department, team, intent, label). A single-valued route field gets one label. Booleans
named like escalate / urgent / needs_human get the escalation judgement, numbers named like
confidence / score / probability the confidence, ids the ids the prompt shows, and every
other required field a short plausible value. The result validates against the schema:
`$ref`/`$defs`, `allOf`/`anyOf`/`oneOf`, nullable types, nested objects, arrays, enums,
`const`, bounds, lengths, formats and patterns are honoured, as pydantic, instructor,
openai-agents and pydantic-ai emit them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any

from .judgement import Identifiers, Judgement
from .regex_example import regex_example
from .schema_fields import (
    ID_WORDS,
    LOOKUP_SUBJECTS,
    Schema,
    find_route_field,
    is_confidence_name,
    is_escalate_name,
    is_route_name,
    is_string_like,
    norm_label,
    only_null,
    route_enum,
    types_of,
    union_branches,
    words,
)

REASON_WORDS = frozenset({"reason", "reasoning", "rationale", "explanation", "justification",
                          "summary", "thought", "thoughts", "analysis", "notes", "note",
                          "description", "explain", "why"})

REPLY_WORDS = frozenset({"reply", "response", "answer", "message", "draft", "text"})

# A deeper schema is filled with its smallest valid values (recursive models end somewhere).
MAX_DEPTH = 12

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z", "date": "2024-01-01", "time": "12:00:00Z",
    "duration": "PT1M", "email": "support@example.com", "idn-email": "support@example.com",
    "uri": "https://example.com/", "iri": "https://example.com/", "uri-reference": "/",
    "iri-reference": "/", "url": "https://example.com/", "hostname": "example.com",
    "idn-hostname": "example.com", "ipv4": "127.0.0.1", "ipv6": "::1",
    "uuid": "00000000-0000-4000-8000-000000000000", "json-pointer": "",
    "relative-json-pointer": "0", "regex": ".*", "uri-template": "https://example.com/",
}


@dataclass
class Filled:
    """A filled schema and where in it the route and the confidence went."""

    value: Any
    route_key: str | None = None
    confidence_key: str | None = None


@dataclass(frozen=True, slots=True)
class _Slot:
    """Where a value goes: the field's name, the routes it is about, how deep it nests,
    and which variant to give (items of a `uniqueItems` array differ)."""

    name: str
    routes: list[str]
    depth: int = 0
    variant: int = 0

    def inner(self, name: str | None = None, routes: list[str] | None = None) -> _Slot:
        return _Slot(self.name if name is None else name,
                     self.routes if routes is None else routes, self.depth + 1)


class SchemaFiller:
    """Fills schemas with one judgement (and the ids the prompt shows)."""

    def __init__(self, judgement: Judgement, taxonomy: list[str],
                 ids: Identifiers | None = None) -> None:
        self.judgement = judgement
        self.taxonomy = taxonomy
        self.ids = ids or Identifiers()

    def fill(self, schema: Any) -> Filled:
        resolver = Schema(schema)
        found = find_route_field(resolver.resolve(schema), resolver, self.taxonomy)
        value = self._value(schema, resolver, _Slot("", self.judgement.routes))
        filled = Filled(value, route_key=found.key if found else None)
        if isinstance(value, dict):
            filled.confidence_key = next((k for k in value if is_confidence_name(k)
                                          and isinstance(value[k], int | float)), None)
        return filled

    # -- one value of any schema -----------------------------------------------------
    def _value(self, schema: Any, resolver: Schema, slot: _Slot) -> Any:
        schema = resolver.resolve(schema)
        if schema is True or schema is None:
            return self._untyped(slot)
        if not isinstance(schema, dict):
            return None  # `false` admits nothing; nothing better to do
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            return self._enum(schema["enum"], slot)
        branches = union_branches(schema)
        if branches:
            return self._value(self._branch(branches, resolver, slot), resolver, slot)
        types = types_of(schema)
        if len(types) > 1:
            deep = slot.depth >= MAX_DEPTH and "null" in types
            kind = "null" if deep else next((t for t in types if t != "null"), "null")
        elif types:
            kind = types[0]
        elif "properties" in schema or "required" in schema:
            kind = "object"
        elif "items" in schema or "prefixItems" in schema:
            kind = "array"
        else:
            return self._untyped(slot)
        maker = getattr(self, "_" + kind, None)
        return None if maker is None else maker(schema, resolver, slot)

    def _branch(self, branches: list[Any], resolver: Schema, slot: _Slot) -> Any:
        """The branch of a union to fill: the route's, else the first that is not null
        (null first when the schema nests too deep)."""
        if is_route_name(slot.name) or any(route_enum(b, resolver, self.taxonomy)
                                           for b in branches):
            for branch in branches:
                if route_enum(branch, resolver, self.taxonomy) is not None:
                    return branch
        nulls = [b for b in branches if only_null(b, resolver)]
        if slot.depth >= MAX_DEPTH and nulls:
            return nulls[0]
        return next((b for b in branches if not only_null(b, resolver)), branches[0])

    def _untyped(self, slot: _Slot) -> Any:
        if is_route_name(slot.name):
            return slot.routes[0] if slot.routes else "unknown"
        if is_escalate_name(slot.name):
            return self.judgement.escalate != bool(slot.variant % 2)
        if is_confidence_name(slot.name):
            return round(self.judgement.confidence, 2) + slot.variant
        return self._text(slot)

    def _enum(self, values: list[Any], slot: _Slot) -> Any:
        if slot.variant:
            return values[slot.variant % len(values)]
        by_norm = {norm_label(v): v for v in values if isinstance(v, str)}
        for route in slot.routes:
            if norm_label(route) in by_norm:
                return by_norm[norm_label(route)]
        name = slot.name
        if any(w in ("priority", "urgency", "severity") for w in words(name)) and len(values) > 1:
            return values[-1] if self.judgement.escalate else values[0]
        if is_escalate_name(name) and any(v is self.judgement.escalate for v in values):
            return self.judgement.escalate
        return values[0]

    # -- by type ---------------------------------------------------------------------
    def _null(self, schema: dict[str, Any], resolver: Schema, slot: _Slot) -> None:
        return None

    def _boolean(self, schema: dict[str, Any], resolver: Schema, slot: _Slot) -> bool:
        value = self.judgement.escalate if is_escalate_name(slot.name) else False
        return value != bool(slot.variant % 2)

    def _number(self, schema: dict[str, Any], resolver: Schema, slot: _Slot) -> float:
        return float(self._numeric(schema, slot, integer=False))

    def _integer(self, schema: dict[str, Any], resolver: Schema, slot: _Slot) -> int:
        return int(self._numeric(schema, slot, integer=True))

    def _numeric(self, schema: dict[str, Any], slot: _Slot, *, integer: bool) -> float:
        low = _bound(schema, "minimum", "exclusiveMinimum", integer, up=True)
        high = _bound(schema, "maximum", "exclusiveMaximum", integer, up=False)
        value: float = 0
        if is_confidence_name(slot.name):
            confidence = self.judgement.confidence
            scale = high if high is not None and high > 1 else (100 if integer else 1)
            value = round(confidence * scale) if integer else round(confidence * scale, 2)
        step = schema.get("multipleOf")
        step = step if isinstance(step, int | float) and step > 0 else None
        value += slot.variant * (step or 1)
        if low is not None and value < low:
            value = low
        if high is not None and value > high:
            value = high - slot.variant * (step or 1) if slot.variant else high
            value = max(value, low) if low is not None else value
        if step is not None:
            value = _multiple(value, step, low, high)
        if integer:
            return int(math.ceil(value)) if low is not None and value > int(value) else int(value)
        return value

    def _string(self, schema: dict[str, Any], resolver: Schema, slot: _Slot) -> str:
        fmt = schema.get("format")
        pattern = schema.get("pattern")
        if is_route_name(slot.name) and not fmt:
            text = ", ".join(slot.routes) if slot.routes else "unknown"
        elif fmt in _FORMATS:
            text = _FORMATS[fmt]
        else:
            text = self._text(slot)
        if slot.variant and not fmt:
            text = f"{text} {slot.variant + 1}"
        if isinstance(pattern, str):
            try:
                ok = re.search(pattern, text) is not None
            except re.error:
                ok = True
            if not ok:
                text = regex_example(pattern) or text
        low = _int(schema.get("minLength"))
        high = _int(schema.get("maxLength"))
        if low is not None and len(text) < low:
            text = text + "." * (low - len(text))
        if high is not None and len(text) > high:
            text = (str(slot.variant) + text if slot.variant else text)[:high]
        return text

    def _text(self, slot: _Slot) -> str:
        name, routes = slot.name, slot.routes
        parts = words(name)
        subject = ", ".join(routes) if routes else "an unclear issue"
        if any(p in LOOKUP_SUBJECTS for p in parts) and any(p in ID_WORDS for p in parts) \
                or parts == ["id"]:
            return self.ids.for_parameter(name) or "unknown"
        if any(p in REASON_WORDS for p in parts):
            return f"The customer writes about {subject}."
        if any(p in REPLY_WORDS for p in parts):
            return "Thanks for reaching out. We are looking into it."
        if is_escalate_name(name):
            return "yes" if self.judgement.escalate else "no"
        if is_confidence_name(name):
            return f"{self.judgement.confidence:.2f}"
        return "unknown"

    def _array(self, schema: dict[str, Any], resolver: Schema, slot: _Slot) -> list[Any]:
        low: int = _int(schema.get("minItems")) or 0
        high: int | None = _int(schema.get("maxItems"))
        prefix: list[Any] = _list(schema.get("prefixItems"))
        items = schema.get("items", {} if not prefix else False)
        values: list[Any] = [self._value(p, resolver, slot.inner())
                             for p in prefix[: high if high is not None else None]]
        if items is False or (high is not None and len(values) >= high):
            return values
        item = resolver.resolve(items)
        per_route = route_enum(item, resolver, self.taxonomy) is not None or (
            is_route_name(slot.name) and is_string_like(item, resolver)) or (
            isinstance(item, dict) and find_route_field(item, resolver, self.taxonomy)
            is not None)
        if per_route and slot.depth < MAX_DEPTH:
            for route in slot.routes or ["unknown"]:
                values.append(self._value(item, resolver, slot.inner(routes=[route])))
            wanted = max(len(values), low)
        else:
            wanted = max(low, 1 if slot.depth < MAX_DEPTH // 2 else 0)
        if high is not None:
            wanted = min(wanted, high)
        unique = bool(schema.get("uniqueItems"))
        variant = 0
        while len(values) < wanted and variant < wanted + 8:
            inner = slot.inner()
            if unique:
                inner = _Slot(inner.name, inner.routes, inner.depth, variant + len(values))
            values.append(self._value(item, resolver, inner))
            variant += 1
        if unique:
            values = _dedupe(values)
        return values[:high] if high is not None else values

    def _object(self, schema: dict[str, Any], resolver: Schema,
                slot: _Slot) -> dict[str, Any]:
        props: dict[str, Any] = _dict(schema.get("properties"))
        required = [k for k in _list(schema.get("required")) if isinstance(k, str)]
        route_field = find_route_field(schema, resolver, self.taxonomy)
        meaningful = [k for k in props if (route_field and k == route_field.key)
                      or is_escalate_name(k) or is_confidence_name(k)]
        keys = list(dict.fromkeys([*required,
                                   *(meaningful if slot.depth < MAX_DEPTH else [])]))
        extra = schema.get("additionalProperties", True)
        out: dict[str, Any] = {}
        for key in keys:
            sub = props.get(key, extra if extra is not False else {})
            routes = slot.routes
            if route_field is not None and key == route_field.key and not route_field.multi:
                routes = routes[:1]
            value = self._value(sub, resolver, slot.inner(key, routes))
            if slot.variant and key == keys[0]:
                value = self._value(sub, resolver, _Slot(key, routes, slot.depth + 1,
                                                         slot.variant))
            out[key] = value
        low = _int(schema.get("minProperties"))
        if low is not None and len(out) < low:
            for key in props:
                if len(out) >= low:
                    break
                out.setdefault(key, self._value(props[key], resolver, slot.inner(key)))
            n = 1
            while len(out) < low and extra is not False:
                out.setdefault(f"field_{n}", self._value(extra, resolver,
                                                         slot.inner(f"field_{n}")))
                n += 1
        return out


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _bound(schema: dict[str, Any], inclusive: str, exclusive: str, integer: bool, *,
           up: bool) -> float | None:
    """The tightest bound of one side, as an attainable value."""
    values: list[float] = []
    value = schema.get(inclusive)
    if isinstance(value, int | float) and not isinstance(value, bool):
        values.append(value)
    value = schema.get(exclusive)
    if isinstance(value, bool):  # draft 4: exclusiveMinimum: true modifies minimum
        if value and values:
            values = [values[0] + (1 if integer else 1e-6) * (1 if up else -1)]
    elif isinstance(value, int | float):
        if integer:
            values.append(math.floor(value) + 1 if up else math.ceil(value) - 1)
        else:
            step = max(abs(value) * 1e-9, 1e-6)
            values.append(value + step if up else value - step)
    if not values:
        return None
    if integer:
        values = [math.ceil(v) if up else math.floor(v) for v in values]
    return max(values) if up else min(values)


def _multiple(value: float, step: float, low: float | None, high: float | None) -> float:
    candidate = math.ceil(value / step) * step if low is not None else round(value / step) * step
    if high is not None and candidate > high:
        candidate = math.floor(high / step) * step
    if isinstance(step, int) and float(candidate).is_integer():
        return int(candidate)
    return round(candidate, 10)


def _dedupe(values: list[Any]) -> list[Any]:
    seen: list[Any] = []
    for value in values:
        if not any(value == s and type(value) is type(s) for s in seen):
            seen.append(value)
    return seen

"""Reading a JSON Schema: `$ref`s and `allOf`s resolved, and which field means what.

A field carries the route when its enum overlaps the routes (an array of that enum for
several labels), else when it is named like a route (route, category, queue, department,
team, intent, label); booleans named like escalate / urgent / needs_human mean escalation,
numbers named like confidence / score / probability the confidence. A tool whose
parameters have a route field routes; one whose parameters ask for a customer / account /
order id or an email looks something up.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

ROUTE_WORDS = frozenset({"route", "routes", "routing", "category", "categories", "queue",
                         "queues", "department", "departments", "team", "teams", "intent",
                         "intents", "label", "labels", "destination"})
ESCALATE_WORDS = ("escalat", "urgent", "human", "handoff", "handover", "manager",
                  "supervisor", "vip", "priority")
CONFIDENCE_WORDS = frozenset({"confidence", "score", "probability", "certainty",
                              "likelihood", "prob"})
ID_WORDS = frozenset({"id", "identifier", "email", "number", "no", "ref", "reference"})
LOOKUP_SUBJECTS = frozenset({"customer", "account", "order", "user", "client", "email"})


def words(name: str) -> list[str]:
    """A field name as lower-case words: `needsHuman`, `needs_human`, `Needs Human`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name)
    return [w for w in re.split(r"[^a-zA-Z0-9]+", spaced.lower()) if w]


def norm_label(label: Any) -> str:
    return re.sub(r"[\s\-]+", "_", str(label).strip().lower())


def is_route_name(name: str) -> bool:
    return any(w in ROUTE_WORDS for w in words(name))


def is_escalate_name(name: str) -> bool:
    return any(w.startswith(ESCALATE_WORDS) for w in words(name)) or "needs_review" in name


def is_confidence_name(name: str) -> bool:
    return any(w in CONFIDENCE_WORDS for w in words(name))


class Schema:
    """A JSON Schema with its root, so `$ref`s resolve."""

    def __init__(self, root: Any) -> None:
        self.root = root

    def resolve(self, schema: Any, depth: int = 0) -> Any:
        """`$ref` followed and `allOf` merged, sibling keywords kept."""
        if not isinstance(schema, dict):
            return schema
        if "$ref" in schema and depth < 32:
            target = self._pointer(schema["$ref"])
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            merged = _merge(self.resolve(target, depth + 1), rest) if rest else target
            return self.resolve(merged, depth + 1)
        if "allOf" in schema and depth < 32:
            merged = {k: v for k, v in schema.items() if k != "allOf"}
            for part in schema["allOf"]:
                merged = _merge(merged, self.resolve(part, depth + 1))
            return self.resolve(merged, depth + 1)
        return schema

    def _pointer(self, ref: str) -> Any:
        if not ref.startswith("#"):
            return {}
        node = self.root
        for part in ref[1:].split("/"):
            if not part:
                continue
            part = part.replace("~1", "/").replace("~0", "~")
            if isinstance(node, dict) and part in node:
                node = node[part]
            elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                node = node[int(part)]
            else:
                return {}
        return node


def _merge(a: Any, b: Any) -> Any:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return b if isinstance(a, bool) and a else a
    out = dict(a)
    for key, value in b.items():
        if key == "properties" and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        elif key == "required" and isinstance(out.get(key), list):
            out[key] = list(dict.fromkeys([*out[key], *value]))
        elif key not in out:
            out[key] = value
    return out


def union_branches(schema: dict[str, Any]) -> list[Any] | None:
    return schema.get("anyOf") or schema.get("oneOf")


def types_of(schema: dict[str, Any]) -> list[str]:
    kind = schema.get("type")
    if isinstance(kind, str):
        return [kind]
    if isinstance(kind, list):
        return [k for k in kind if isinstance(k, str)]
    return []


def only_null(schema: Any, resolver: Schema) -> bool:
    """Whether a schema admits nothing but null."""
    schema = resolver.resolve(schema)
    if not isinstance(schema, dict):
        return False
    if "const" in schema:
        return schema["const"] is None
    if isinstance(schema.get("enum"), list):
        return all(v is None for v in schema["enum"])
    return types_of(schema) == ["null"]


@dataclass(slots=True)
class RouteField:
    """Where a route goes in an object: the property, and whether it holds several."""

    key: str
    multi: bool


def enum_of(schema: Any, resolver: Schema) -> list[Any] | None:
    """The enum values a (string) schema allows, through consts and unions."""
    schema = resolver.resolve(schema)
    if not isinstance(schema, dict):
        return None
    if isinstance(schema.get("enum"), list):
        return schema["enum"]
    if "const" in schema:
        return [schema["const"]]
    branches = union_branches(schema)
    if branches:
        values = [v for b in branches for v in (enum_of(b, resolver) or [])]
        return values or None
    return None


def route_enum(schema: Any, resolver: Schema, routes: list[str]) -> list[Any] | None:
    values = enum_of(schema, resolver)
    if values is None:
        return None
    wanted = {norm_label(r) for r in routes}
    return values if any(isinstance(v, str) and norm_label(v) in wanted for v in values) else None


def array_items(schema: Any, resolver: Schema) -> Any:
    """The item schema of an array schema (through nullable unions), else None."""
    schema = resolver.resolve(schema)
    if not isinstance(schema, dict):
        return None
    if "array" in types_of(schema) or "items" in schema:
        return schema.get("items", {})
    for branch in union_branches(schema) or []:
        items = array_items(branch, resolver)
        if items is not None:
            return items
    return None


def is_string_like(schema: Any, resolver: Schema) -> bool:
    schema = resolver.resolve(schema)
    if schema is True or schema == {}:
        return True
    if not isinstance(schema, dict):
        return False
    if "string" in types_of(schema) or (not types_of(schema) and not union_branches(schema)
                                      and "properties" not in schema and "items" not in schema):
        return True
    return any(is_string_like(b, resolver) for b in union_branches(schema) or [])


def find_route_field(schema: Any, resolver: Schema, routes: list[str]) -> RouteField | None:
    """The property of an object schema that carries the route, if any."""
    schema = resolver.resolve(schema)
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    props = schema["properties"]
    for key, sub in props.items():
        if route_enum(sub, resolver, routes) is not None:
            return RouteField(key, False)
    for key, sub in props.items():
        items = array_items(sub, resolver)
        if items is not None and route_enum(items, resolver, routes) is not None:
            return RouteField(key, True)
    for key, sub in props.items():
        if not is_route_name(key):
            continue
        if enum_of(sub, resolver) is not None:
            continue  # an enum of something else (e.g. a priority named "label")
        items = array_items(sub, resolver)
        if items is not None and is_string_like(items, resolver):
            return RouteField(key, True)
        if is_string_like(sub, resolver):
            return RouteField(key, False)
    return None


def carries_route(schema: Any, routes: list[str]) -> bool:
    """Whether an object schema (a tool's parameters) has a field for the route."""
    return find_route_field(schema, Schema(schema), routes) is not None


def lookup_parameter(schema: Any, tool_name: str = "") -> str | None:
    """The parameter a lookup tool takes a customer / account / order id or email in."""
    resolver = Schema(schema)
    schema = resolver.resolve(schema)
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    subject_in_name = any(w in LOOKUP_SUBJECTS or w == "crm" for w in words(tool_name))
    for key, sub in schema["properties"].items():
        parts = words(key)
        if not is_string_like(sub, resolver) and not _is_integer(sub, resolver):
            continue
        if any(p in LOOKUP_SUBJECTS for p in parts) and (
                any(p in ID_WORDS for p in parts) or len(parts) == 1):
            return key
        if parts in (["id"], ["identifier"], ["email"]) and subject_in_name:
            return key
    return None


def _is_integer(schema: Any, resolver: Schema) -> bool:
    schema = resolver.resolve(schema)
    return isinstance(schema, dict) and "integer" in types_of(schema)

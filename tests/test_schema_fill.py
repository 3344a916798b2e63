"""Filling a JSON Schema from the model's judgement: always valid, and the route, the
escalation and the confidence land in the fields that mean them."""

from __future__ import annotations

import enum
import re
from typing import Annotated, Any, Literal

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, Field

from simharness.world.llm.judgement import Identifiers, Judgement
from simharness.world.llm.regex_example import regex_example
from simharness.world.llm.schema_fields import carries_route, lookup_parameter
from simharness.world.llm.schema_fill import SchemaFiller

ROUTES = ["billing", "technical", "account", "order_status"]
ONE = Judgement(["technical"], 0.83, escalate=True)
TWO = Judgement(["billing", "account"], 0.41, escalate=False)
IDS = Identifiers(customer_id="C00042", email="ana@example.com", order_id="#1234567")


def fill(schema: Any, judgement: Judgement = ONE) -> Any:
    value = SchemaFiller(judgement, ROUTES, IDS).fill(schema).value
    jsonschema.Draft202012Validator(schema).validate(value)
    return value


# -- schemas as the libraries emit them --------------------------------------------------

class Team(enum.StrEnum):
    billing = "billing"
    technical = "technical"
    account = "account"
    order_status = "order_status"


class Severity(enum.StrEnum):
    low = "low"
    medium = "medium"
    critical = "critical"


class Routed(BaseModel):
    route: Literal["billing", "technical", "account", "order_status"]
    confidence: float = Field(ge=0, le=1)
    escalate: bool


class Department(BaseModel):
    department: Team | None = None
    needs_human: bool
    reasoning: str
    severity: Severity


class Issue(BaseModel):
    category: Team
    summary: str = Field(max_length=60)


class Issues(BaseModel):
    issues: list[Issue] = Field(min_length=1)
    customer_id: str


class Labels(BaseModel):
    labels: list[Literal["billing", "technical", "account", "order_status"]]
    score: int = Field(ge=0, le=100)
    urgent: bool | None


class Node(BaseModel):
    name: str
    children: list[Node] = []


class Odd(BaseModel):
    tree: Node
    queue: str = Field(pattern=r"^[a-z_]+$")
    code: Annotated[str, Field(pattern=r"^[A-Z]{3}-\d{4}$")]
    short: Annotated[str, Field(min_length=3, max_length=5)]
    ratio: float = Field(gt=0, lt=1, multiple_of=0.25)
    count: int = Field(ge=3, multiple_of=5)
    tags: set[str]
    pair: tuple[int, str]
    extra: dict[str, int]


MODELS = [Routed, Department, Issues, Labels, Odd]


def _strict(model: type[BaseModel]) -> dict[str, Any]:
    openai_pydantic = pytest.importorskip("openai.lib._pydantic")
    return openai_pydantic.to_strict_json_schema(model)  # type: ignore[no-any-return]


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("judgement", [ONE, TWO], ids=["one-route", "two-routes"])
def test_pydantic_schemas_are_filled_with_valid_values(model, judgement):
    for schema in (model.model_json_schema(), _strict(model)):
        model.model_validate(fill(schema, judgement))


def test_the_route_goes_where_the_enum_overlaps_the_routes():
    assert fill(Routed.model_json_schema())["route"] == "technical"
    value = fill(Department.model_json_schema())
    assert value["department"] == "technical"  # an Optional enum, found by its values
    assert value["needs_human"] is True and value["severity"] == "critical"
    assert fill(Department.model_json_schema(), TWO)["severity"] == "low"


def test_a_single_valued_route_field_gets_one_label_and_a_list_gets_them_all():
    assert fill(Routed.model_json_schema(), TWO)["route"] == "billing"
    assert fill(Labels.model_json_schema(), TWO)["labels"] == ["billing", "account"]
    issues = fill(Issues.model_json_schema(), TWO)["issues"]
    assert [i["category"] for i in issues] == ["billing", "account"]


def test_route_fields_are_found_by_name_when_there_is_no_enum():
    for name in ("route", "category", "queue", "department", "team", "intent", "label",
                 "targetQueue", "assigned_team"):
        schema = {"type": "object", "properties": {name: {"type": "string"}},
                  "required": [name]}
        assert fill(schema)[name] == "technical", name
    lists = {"type": "object", "properties": {"routes": {"type": "array",
                                                         "items": {"type": "string"}}},
             "required": ["routes"]}
    assert fill(lists, TWO)["routes"] == ["billing", "account"]


def test_enum_labels_match_whatever_their_case_or_separators():
    schema = {"type": "object", "required": ["team"], "properties": {
        "team": {"enum": ["Billing", "Technical", "Account", "Order Status"]}}}
    assert fill(schema)["team"] == "Technical"
    assert fill(schema, Judgement(["order_status"], 0.9))["team"] == "Order Status"


def test_confidence_scales_to_the_fields_range():
    def conf(field: dict[str, Any]) -> Any:
        return fill({"type": "object", "properties": {"confidence": field},
                     "required": ["confidence"]})["confidence"]

    assert conf({"type": "number"}) == 0.83
    assert conf({"type": "integer", "minimum": 0, "maximum": 100}) == 83
    assert conf({"type": "integer", "minimum": 1, "maximum": 10}) == 8
    assert conf({"type": "string"}) == "0.83"


def test_escalation_booleans_and_ids_are_recognised_by_name():
    schema = {"type": "object", "additionalProperties": False, "required": [
        "escalate", "isUrgent", "needs_human", "refund_ok", "customer_id", "email"],
        "properties": {k: {"type": "boolean"} for k in (
            "escalate", "isUrgent", "needs_human", "refund_ok")}
        | {"customer_id": {"type": "string"}, "email": {"type": "string", "format": "email"}}}
    value = fill(schema)
    assert value["escalate"] is value["isUrgent"] is value["needs_human"] is True
    assert value["refund_ok"] is False
    assert value["customer_id"] == "C00042"


def test_tools_that_route_and_tools_that_look_up_are_told_apart():
    assert carries_route(Routed.model_json_schema(), ROUTES)
    assert carries_route({"type": "object", "properties": {"queue": {"type": "string"}}},
                         ROUTES)
    assert not carries_route({"type": "object", "properties": {"city": {"type": "string"}}},
                             ROUTES)
    customer = {"type": "object", "properties": {"customer_id": {"type": "string"}}}
    assert lookup_parameter(customer) == "customer_id"
    assert lookup_parameter({"type": "object", "properties": {"id": {"type": "string"}}},
                            "get_customer") == "id"
    assert lookup_parameter({"type": "object", "properties": {"id": {"type": "string"}}},
                            "get_weather") is None
    assert lookup_parameter({"type": "object", "properties": {
        "orderNumber": {"type": "string"}}}) == "orderNumber"


@pytest.mark.parametrize("pattern", [r"^[A-Z]{3}-\d{4}$", r"^\S+@\S+\.\w+$", r"^(foo|bar)+$",
                                     r"[^a-z]", r"^\w{2,5}$", r"^(?:#|ORD-)?\d{7}$", r"x(?=y)y",
                                     r"^[^\W_]+$", r"\bok\b"])
def test_pattern_examples_match(pattern):
    example = regex_example(pattern)
    assert example is not None and re.search(pattern, example)


# -- any schema: Hypothesis --------------------------------------------------------------

NAMES = ["route", "category", "labels", "confidence", "score", "escalate", "urgent",
         "customer_id", "reason", "summary", "name", "count", "items", "meta", "x"]
PATTERNS = [r"^[a-z]+$", r"^\d{3}$", r"^[A-Z][a-z]*$", r"^(yes|no)$", r"ab+c"]
FORMATS = ["date-time", "date", "email", "uri", "uuid", "ipv4"]


@st.composite
def numeric_schemas(draw: Any) -> dict[str, Any]:
    kind = draw(st.sampled_from(["integer", "number"]))
    schema: dict[str, Any] = {"type": kind}
    step = draw(st.sampled_from([None, 1, 2, 5, 0.5, 0.25])) if kind == "number" else \
        draw(st.sampled_from([None, 1, 3, 10]))
    low = draw(st.none() | st.integers(-50, 50))
    high = None if low is None else low + draw(st.integers(0, 40))
    if draw(st.booleans()) and high is not None:
        high = None
    if step is not None:
        schema["multipleOf"] = step
        if low is not None:
            low = (low // 10) * 10  # a multiple of every step above
        if high is not None:
            high = low + 10 * draw(st.integers(1, 4)) if low is not None else None
    if low is not None:
        schema["exclusiveMinimum" if draw(st.booleans()) and high != low else "minimum"] = low
    if high is not None:
        schema["exclusiveMaximum" if draw(st.booleans()) and high - 10 > (low or 0) and
               step is None else "maximum"] = high
    return schema


@st.composite
def string_schemas(draw: Any) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    choice = draw(st.sampled_from(["plain", "length", "pattern", "format"]))
    if choice == "length":
        low = draw(st.integers(0, 10))
        schema["minLength"] = low
        schema["maxLength"] = low + draw(st.integers(0, 10))
    elif choice == "pattern":
        schema["pattern"] = draw(st.sampled_from(PATTERNS))
    elif choice == "format":
        schema["format"] = draw(st.sampled_from(FORMATS))
    return schema


LEAVES = st.one_of(
    numeric_schemas(), string_schemas(), st.just({"type": "boolean"}),
    st.just({"type": "null"}), st.just({}),
    st.lists(st.sampled_from(["billing", "technical", "low", "high", 1, None, True]),
             min_size=1, max_size=4, unique=True).map(lambda v: {"enum": v}),
    st.sampled_from(["billing", 3, None, False]).map(lambda v: {"const": v}),
    st.just({"type": ["string", "null"]}), st.just({"type": ["integer", "boolean"]}),
)


def _objects(children: Any) -> Any:
    return st.builds(
        lambda props, required, closed: {
            "type": "object", "properties": props,
            "required": [k for k in props if k in required],
            **({"additionalProperties": False} if closed else {})},
        st.dictionaries(st.sampled_from(NAMES), children, max_size=5),
        st.sets(st.sampled_from(NAMES)), st.booleans())


def _containers(children: Any) -> Any:
    arrays = st.builds(
        lambda items, low, extra, unique: {
            "type": "array", "items": items, "minItems": low, "maxItems": low + extra,
            **({"uniqueItems": True} if unique and low <= 1 else {})},
        children, st.integers(0, 3), st.integers(0, 3), st.booleans())
    tuples = st.lists(children, min_size=1, max_size=3).map(
        lambda p: {"type": "array", "prefixItems": p, "items": False, "minItems": len(p)})
    unions = st.lists(children, min_size=1, max_size=3).map(lambda b: {"anyOf": b})
    nullable = children.map(lambda c: {"anyOf": [c, {"type": "null"}]})
    tagged = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=3,
                      unique=True).map(lambda tags: {"oneOf": [
                          {"type": "object", "required": ["kind"],
                           "properties": {"kind": {"const": t}}} for t in tags]})
    maps = children.map(lambda c: {"type": "object", "additionalProperties": c,
                                   "minProperties": 1})
    return st.one_of(_objects(children), arrays, tuples, unions, nullable, tagged, maps)


SCHEMAS = st.recursive(LEAVES, _containers, max_leaves=10)


@st.composite
def documents(draw: Any) -> dict[str, Any]:
    """A root object schema, sometimes with its parts under $defs and reached by $ref."""
    body = draw(_objects(SCHEMAS))
    if not draw(st.booleans()):
        return body
    return {"$defs": {"Body": body, "Route": {"enum": ROUTES[:2]}},
            "type": "object", "required": ["body", "route"],
            "properties": {"body": {"$ref": "#/$defs/Body"}, "route": {"$ref": "#/$defs/Route"},
                           "both": {"allOf": [{"$ref": "#/$defs/Body"}]}}}


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=documents(), judgement=st.sampled_from([ONE, TWO, Judgement([], 0.5)]))
def test_any_generated_schema_is_filled_validly(schema, judgement):
    fill(schema, judgement)


def test_a_route_named_field_carries_the_route_only_when_it_holds_text() -> None:
    def obj(field: Any, name: str = "category") -> dict[str, Any]:
        return {"type": "object", "properties": {name: field}}

    optional_text = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    assert carries_route(obj(optional_text), ROUTES)
    assert carries_route(obj({}), ROUTES)  # any value at all
    assert not carries_route(obj({"type": "integer"}), ROUTES)
    assert not carries_route(obj({"type": "object", "properties": {"x": {"type": "string"}}}),
                             ROUTES)
    assert lookup_parameter(obj(optional_text, "customer_id")) == "customer_id"
    assert lookup_parameter(obj({"type": "object"}, "customer_id")) is None


@pytest.mark.parametrize("schema", [
    {"type": "integer", "minimum": 2.5, "maximum": 3.5},  # float bounds on an integer
    {"type": "integer", "exclusiveMinimum": 2.5, "exclusiveMaximum": 3.5},
    {"type": "integer", "multipleOf": 5, "minimum": 1, "maximum": 7},
    {"type": "number", "multipleOf": 0.25, "minimum": 0.3, "maximum": 0.6},
])
def test_a_number_with_a_single_allowed_value_gets_it(schema: dict[str, Any]) -> None:
    value = fill(schema)  # validated against the schema: each allows only one value
    assert value == (0.5 if schema["type"] == "number" else 5 if "multipleOf" in schema else 3)

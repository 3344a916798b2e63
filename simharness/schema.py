"""The JSON Schema of the scenario format, for editors, docs and `simharness schema`.

Generated from the pydantic models (which ARE the format), then completed with what
pydantic cannot know: every registered fault kind with its own parameters (a `oneOf` on
`kind`, so an editor completes a kind's fields once the kind is typed), the defaults of
fields built by factories, the unit of every duration and rate, and an example for every
field. Nothing here is written by hand per field except the few examples in `EXAMPLES`.
"""

from __future__ import annotations

import copy
import inspect
import json
from collections.abc import Iterable
from typing import Any

from pydantic import BaseModel, TypeAdapter
from pydantic.json_schema import GenerateJsonSchema, NoDefault, models_json_schema
from pydantic_core import core_schema

from .scenario import Scenario
from .units import Duration, Rate, format_duration

__all__ = ["EXAMPLES", "SCHEMA_FILE", "UNIT_NOTES", "builtin_kinds", "fault_kind_info",
           "scenario_schema", "schema_text", "unit_of"]

#: Where the checked-in copy lives, relative to the repository (and `simharness init`).
SCHEMA_FILE = "scenario.schema.json"
DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Examples for fields whose default says little. Keys are `Model.field` (field as written
#: in YAML); every other field gets its example from its default, its choices or its type.
EXAMPLES: dict[str, list[Any]] = {
    "Scenario.name": ["llm-outage"],
    "Scenario.description": ["Five minutes without the large model at mid-morning."],
    "Scenario.seed": [42],
    "Scenario.duration": ["1h", "10m"],
    "Scenario.agent": [{"ref": "my_pkg.agent:route", "workers": 16}],
    "Scenario.world": [{"sla": "30s", "tools": {"crm": {"capacity": 50}}}],
    "Scenario.traffic": [[{"synthetic": {"rate": "2/s"}}]],
    "Scenario.faults": [[{"name": "llm-down", "target": "llm.large", "kind": "outage",
                          "at": "20m", "duration": "5m"}]],
    "Scenario.expect": [{"routing.accuracy": ">= 0.85", "latency.p95": "<= 30s",
                         "tickets.error": "== 0"}],
    "Accuracy.multi_issue": [0.55],
    "Accuracy.mind_change": [0.6],
    "Accuracy.high_value": [0.9],
    "Accuracy.ambiguous": [0.6],
    "Accuracy.malformed": [0.7],
    "AgentConfig.ref": ["my_pkg.agent:route", "simharness.agents.reference:ResilientRouter"],
    "AgentConfig.params": [{"confidence_threshold": 0.75}],
    "ExponentialDist.mean": ["50ms"],
    "FixedDist.value": ["200ms"],
    "LognormalDist.median": ["0.4s"],
    "LognormalDist.p95": ["1.2s"],
    "UniformDist.low": ["1m"],
    "UniformDist.high": ["10m"],
    "RateStep.at": ["20m"],
    "TrafficSource.synthetic": [{"rate": "2/s", "routes": ["billing", "technical"]}],
    "SyntheticTraffic.until": ["45m"],
    "TagMix.multi_issue": [0.1],
    "TagMix.mind_change": [0.05],
    "TagMix.high_value": [0.05],
    "TagMix.ambiguous": [0.05],
    "HumanReviewConfig.cost_per_ticket": [2.5],
    "LLMConfig.tiers": [{"small": {"latency": {"dist": "lognormal", "median": "0.4s",
                                               "p95": "1.2s"}, "rpm": 3000}}],
    "LLMTier.accuracy": [{"default": 0.86, "ambiguous": 0.6, "multi_issue": 0.55}],
    "WorldConfig.llm": [{"response_format": "label"}],
    "RouteSpec.json": [{"order_id": "{order_id}", "status": "shipped"}],
    "SyntheticTraffic.schedule": [[{"at": "0s", "rate": "1/s"}, {"at": "20m", "rate": "10/s"}]],
    "SyntheticTraffic.routes": [["billing", "technical", "account"]],
    "SyntheticTraffic.mix": [{"multi_issue": 0.1, "mind_change": 0.05, "high_value": 0.05,
                              "ambiguous": 0.05}],
    "SyntheticTraffic.languages": [{"en": 0.8, "de": 0.2}],
    "LLMTier.aliases": [["gpt-4o-mini"]],
    "LLMTier.rpm": [3000],
    "LLMTier.capacity": [50],
    "ToolConfig.capacity": [50],
    "WorldConfig.sla": ["30s"],
    "WorldConfig.tools": [{"crm": {"latency": {"dist": "exponential", "mean": "50ms"},
                                   "capacity": 50}}],
    "FaultSpec.name": ["llm-down"],
    "FaultSpec.target": ["llm", "llm.large", "tools.crm"],
    "FaultSpec.at": ["20m"],
    "FaultSpec.duration": ["5m"],
    "FaultSpec.from": ["10m"],
    "FaultSpec.until": ["15m"],
    "FaultSpec.probability": [0.3],
    "FaultSpec.ramp": ["2m"],
    "FaultSpec.every": ["10m"],
    "FaultSpec.for": ["1m"],
    "FaultSpec.per": ["ticket"],
    # fault kinds' own parameters: `kind.field`
    "context_overflow.limit": [8000],
    "http_error.body": ['{"error": "upstream overloaded"}'],
    "latency.add": [{"dist": "fixed", "value": "30s"}],
    "latency.multiply": [10],
    "malformed_input.mutations": [["truncated", "missing_field"]],
    "malformed_input.rate": [0.2],
    "off_taxonomy.label": ["general_inquiry"],
    "prompt_injection.target_route": ["refund"],
    "rate_limit.bucket": [20],
}

UNIT_NOTES = {
    "duration": "a duration: seconds as a number, or text with a unit (ms, s, m, h, d), "
                "e.g. '500ms', '90s', '5m', '1h'",
    "rate": "a rate: events per second as a number, or text like '2/s', '120/m', '100/h'",
}


class _WithFactoryDefaults(GenerateJsonSchema):
    """Pydantic leaves out defaults made by a factory; editors and docs want them."""

    def get_default_value(self, schema: core_schema.WithDefaultSchema) -> Any:
        factory = schema.get("default_factory")
        if factory is not None and not schema.get("default_factory_takes_data"):
            return factory()  # type: ignore[call-arg]
        return super().get_default_value(schema)


def builtin_kinds() -> list[str]:
    """The fault kinds simharness ships (not those of installed plugins)."""
    import fault_injectors

    return [k for k in fault_injectors.known_kinds()
            if fault_injectors.get(k).__module__.startswith("fault_injectors.")]


def fault_kind_info(kind: str) -> tuple[str, str, type[BaseModel]]:
    """(family, docstring, Params model) of a registered fault kind."""
    import fault_injectors

    injector = fault_injectors.get(kind)
    return injector.family, inspect.cleandoc(injector.__doc__ or ""), injector.Params


def scenario_schema(kinds: Iterable[str] | None = None) -> dict[str, Any]:
    """The scenario format as JSON Schema (draft 2020-12).

    `kinds`: the fault kinds to describe (default: every registered kind, plugins included).
    """
    import fault_injectors

    kinds = sorted(fault_injectors.known_kinds() if kinds is None else kinds)
    params = {kind: fault_kind_info(kind)[2] for kind in kinds}
    models: list[type[BaseModel]] = [Scenario, *dict.fromkeys(params.values())]
    refs, schema = models_json_schema([(m, "validation") for m in models],
                                      schema_generator=_WithFactoryDefaults)
    defs: dict[str, Any] = schema["$defs"]
    top = defs.pop(refs[(Scenario, "validation")]["$ref"].split("/")[-1])
    param_defs = {kind: refs[(model, "validation")]["$ref"].split("/")[-1]
                  for kind, model in params.items()}
    variants = [_fault_variant(kind, defs[param_defs[kind]], params[kind], defs["FaultSpec"])
                for kind in kinds]
    for name in set(param_defs.values()):
        if not _referenced(name, [top, defs, variants], skip=name):
            del defs[name]
    defs["FaultSpec"] = _fault_spec(defs["FaultSpec"], kinds, variants)
    out = {"$schema": DIALECT, **top, "title": "simharness scenario", "$defs": defs}
    _complete(out, "Scenario")
    for name, definition in list(defs.items()):
        _complete(definition, name)
    defs["Duration"] = {"description": UNIT_NOTES["duration"].capitalize() + ".",
                        "anyOf": _DURATION_ANY}
    defs["Rate"] = {"description": UNIT_NOTES["rate"].capitalize() + ".", "anyOf": _RATE_ANY}
    return out


def schema_text(kinds: Iterable[str] | None = None) -> str:
    """The schema as the checked-in file is written (two-space indent, fields in file order)."""
    return json.dumps(scenario_schema(kinds), indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------- faults

def _fault_variant(kind: str, params_def: dict[str, Any], model: type[BaseModel],
                   spec: dict[str, Any]) -> dict[str, Any]:
    """One fault kind: the common fields plus the kind's own parameters, nothing else."""
    family, doc, _ = fault_kind_info(kind)
    # The common fields are described once, on FaultSpec itself; `true` lets them through.
    common: dict[str, Any] = dict.fromkeys(spec["properties"], True)
    common["kind"] = {"const": kind, "description": f"Fault kind: {kind} ({family})."}
    own = copy.deepcopy(params_def.get("properties", {}))
    for field in own.values():
        field.pop("title", None)
    extra = model.model_config.get("extra")
    return {
        "title": kind,
        "description": doc.split("\n\n")[0].replace("\n", " ") or f"The {kind} fault.",
        "type": "object",
        "properties": {**common, **own},
        "required": ["kind", *params_def.get("required", [])],
        "additionalProperties": extra == "allow",
        "x-family": family,
        "x-params": sorted(own),
    }


def _fault_spec(spec: dict[str, Any], kinds: list[str],
                variants: list[dict[str, Any]]) -> dict[str, Any]:
    kind = dict(spec["properties"]["kind"])
    kind["enum"] = kinds
    kind.pop("minLength", None)
    return {
        "title": "FaultSpec",
        "description": spec.get("description", ""),
        "type": "object",
        "required": ["kind"],
        "properties": {**spec["properties"], "kind": kind},
        "oneOf": variants,
    }


def _referenced(name: str, where: Any, skip: str) -> bool:
    target = f"#/$defs/{name}"
    if isinstance(where, dict):
        return any(v == target if k == "$ref" else
                   (k != skip and _referenced(name, v, skip)) for k, v in where.items())
    if isinstance(where, list):
        return any(_referenced(name, v, skip) for v in where)
    return False


# --------------------------------------------------------------------------- units, examples

_DURATION_ANY = TypeAdapter(Duration).json_schema()["anyOf"]
_RATE_ANY = TypeAdapter(Rate).json_schema()["anyOf"]


_UNIT_REFS = {"duration": "#/$defs/Duration", "rate": "#/$defs/Rate"}


def unit_of(prop: dict[str, Any]) -> str | None:
    """'duration' or 'rate' when the property holds one (possibly nullable), else None."""
    for option in [prop, *prop.get("anyOf", [])]:
        if option.get("anyOf") == _DURATION_ANY or option.get("$ref") == _UNIT_REFS["duration"]:
            return "duration"
        if option.get("anyOf") == _RATE_ANY or option.get("$ref") == _UNIT_REFS["rate"]:
            return "rate"
    return None


def _use_unit_ref(schema: dict[str, Any], unit: str) -> None:
    """Replace the inlined duration/rate schema (pydantic repeats it) by a reference."""
    for option in [schema, *schema.get("anyOf", [])]:
        if option.get("anyOf") in (_DURATION_ANY, _RATE_ANY):
            del option["anyOf"]
            option.pop("examples", None)
            option["$ref"] = _UNIT_REFS[unit]


def _complete(definition: dict[str, Any], model: str) -> None:
    """Give every property of a definition (and of fault variants) a unit and an example."""
    for name, prop in definition.get("properties", {}).items():
        _complete_property(prop, f"{model}.{name}")
        if prop.get("type") == "array" and isinstance(prop.get("items"), dict):
            unit = unit_of(prop["items"])
            if unit is not None:
                _use_unit_ref(prop["items"], unit)
    for variant in definition.get("oneOf", []):  # fault kinds: examples keyed `kind.field`
        for name, prop in variant.get("properties", {}).items():
            if isinstance(prop, dict):
                _complete_property(prop, f"{variant['title']}.{name}")


def _complete_property(prop: dict[str, Any], key: str) -> None:
    prop.pop("title", None)
    unit = unit_of(prop)
    if unit is not None:
        prop["x-unit"] = unit
        description = prop.get("description", "").rstrip()
        if description and not description.endswith((".", "?", "!")):
            description += "."
        if UNIT_NOTES[unit] not in description:
            prop["description"] = f"{description} Unit: {UNIT_NOTES[unit]}.".strip()
        _use_unit_ref(prop, unit)
    if key in EXAMPLES:
        prop["examples"] = EXAMPLES[key]
    elif "examples" not in prop:
        example = _derived_example(prop, unit)
        if example is not NoDefault:
            prop["examples"] = [example]


def _derived_example(prop: dict[str, Any], unit: str | None) -> Any:
    if unit == "duration":
        default = prop.get("default")
        return format_duration(default) if isinstance(default, int | float) else "5m"
    if unit == "rate":
        return "2/s"
    if "const" in prop:
        return prop["const"]
    if prop.get("enum"):
        return prop["enum"][0]
    default = prop.get("default", NoDefault)
    if default is not None and default is not NoDefault:
        return default
    options = [o for o in prop.get("anyOf", []) if o.get("type") != "null"]
    kind = (options[0] if options else prop)
    if "const" in kind:
        return kind["const"]
    if kind.get("enum"):
        return kind["enum"][0]
    if kind.get("type") == "number":
        return kind.get("maximum", kind.get("minimum", 1.0))
    if kind.get("type") == "integer":
        return max(kind.get("minimum", 1), 1)
    if kind.get("type") == "string":
        longest = kind.get("maxLength")
        return "text" if longest is None or longest >= 4 else ","[:longest] or ""
    if kind.get("type") == "array" and isinstance(kind.get("items"), dict):
        item = _derived_example(kind["items"], unit_of(kind["items"]))
        return NoDefault if item is NoDefault else [item]
    if kind.get("type") == "boolean":
        return True
    return NoDefault

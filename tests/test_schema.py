"""The JSON Schema of the scenario format and the pages generated from it: current, complete
(every field described, with units, defaults and examples; every fault kind with its own
parameters), and agreeing with the loader on real files."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Annotated, Any, get_args

import jsonschema
import pytest
import yaml
from conftest import REPO
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

import fault_injectors
from simharness import scenario as scenario_module
from simharness.cli import main
from simharness.schema import EXAMPLES, SCHEMA_FILE, builtin_kinds, scenario_schema, schema_text
from simharness.schema_docs import DOC_FILES, REGENERATE, pages

SCENARIO_FILES = [*sorted((REPO / "scenarios").glob("*.yaml")),
                  *sorted((REPO / "tests" / "fixtures").glob("*.yaml"))]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    return scenario_schema(builtin_kinds())


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> jsonschema.Draft202012Validator:
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def _properties(schema: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(where, property schema) of every field, fault kinds' own parameters included."""
    out = [(f"Scenario.{n}", p) for n, p in schema["properties"].items()]
    for name, definition in schema["$defs"].items():
        out += [(f"{name}.{n}", p) for n, p in definition.get("properties", {}).items()]
        for variant in definition.get("oneOf", []):
            out += [(f"{variant['title']}.{n}", p) for n, p in variant["properties"].items()
                    if n in variant.get("x-params", [])]
    return out


def _models(root: type[BaseModel]) -> dict[str, type[BaseModel]]:
    """Every model class the scenario format is made of, by name."""
    found: dict[str, type[BaseModel]] = {}
    todo: list[Any] = [root]
    while todo:
        tp = todo.pop()
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            if tp.__name__ in found:
                continue
            found[tp.__name__] = tp
            todo += [f.annotation for f in tp.model_fields.values()]
        else:
            todo += list(get_args(tp))
    return found


# ------------------------------------------------------------------ checked-in copies

def test_checked_in_schema_is_current():
    checked_in = (REPO / SCHEMA_FILE).read_text(encoding="utf-8")
    assert checked_in == schema_text(builtin_kinds()), \
        f"{SCHEMA_FILE} is stale: regenerate it with `{REGENERATE}`"


def test_generated_docs_are_current(schema):
    generated = pages(schema)
    assert set(generated) == set(DOC_FILES)
    for name, page in generated.items():
        assert (REPO / "docs" / name).read_text(encoding="utf-8") == page, \
            f"docs/{name} is stale: regenerate it with `{REGENERATE}`"


def test_schema_check_command_reports_a_stale_copy(capsys, tmp_path):
    stale = tmp_path / "scenario.schema.json"
    stale.write_text("{}\n")
    assert main(["schema", "--output", str(stale), "--check"]) == 2
    assert f"{stale} is out of date" in capsys.readouterr().err
    assert stale.read_text() == "{}\n"  # --check writes nothing
    assert main(["schema", "--output", str(stale), "--docs", str(tmp_path / "docs")]) == 0
    assert main(["schema", "--output", str(stale), "--docs", str(tmp_path / "docs"),
                 "--check"]) == 0
    assert sorted(p.name for p in (tmp_path / "docs").iterdir()) == sorted(DOC_FILES)


def test_schema_command_prints_the_schema(capsys):
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["title"] == "simharness scenario"
    assert set(printed["required"]) == {"name", "duration", "traffic"}


# ------------------------------------------------------------------ complete

def test_every_field_has_a_description_a_default_or_is_required_and_an_example(schema):
    required = {"Scenario": set(schema["required"])}
    for name, definition in schema["$defs"].items():
        required[name] = set(definition.get("required", []))
        for variant in definition.get("oneOf", []):
            required[variant["title"]] = set(variant.get("required", []))
    for where, prop in _properties(schema):
        model, field = where.split(".", 1)
        assert prop.get("description"), f"{where} has no description"
        refs = re.findall(r'"\$ref": "#/\$defs/(\w+)"', json.dumps(prop))
        section = any(r not in ("Duration", "Rate") for r in refs)
        # a whole section is documented field by field in its own definition
        assert prop.get("examples") or section, f"{where} has no example"
        assert "default" in prop or field in required[model], f"{where}: no default"


def test_durations_and_rates_name_their_unit(schema):
    props = dict(_properties(schema))
    for where in ("Scenario.duration", "FaultSpec.at", "AgentConfig.watchdog",
                  "LognormalDist.median", "rate_limit.retry_after"):
        assert props[where]["x-unit"] == "duration", where
        assert "Unit: a duration" in props[where]["description"], where
    for where in ("SyntheticTraffic.rate", "RateStep.rate", "rate_limit.refill"):
        assert props[where]["x-unit"] == "rate", where


def test_defaults_made_by_factories_are_in_the_schema(schema):
    props = dict(_properties(schema))
    assert props["SyntheticTraffic.routes"]["default"] == [
        "billing", "technical", "account", "shipping", "refund", "cancellation"]
    assert set(props["LLMConfig.tiers"]["default"]) == {"small", "large"}
    assert props["WorldConfig.tools"]["default"]["crm"]["latency"] == {
        "dist": "exponential", "mean": 0.05}


def test_every_example_is_valid_for_its_field(schema):
    """Examples are checked twice: against the JSON Schema, and by the pydantic models."""
    defs = schema["$defs"]
    models = _models(scenario_module.Scenario)
    params = {kind: fault_injectors.get(kind).Params for kind in builtin_kinds()}
    for where, prop in _properties(schema):
        if not prop.get("examples"):
            continue
        field_validator = jsonschema.Draft202012Validator({**prop, "$defs": defs})
        for example in prop["examples"]:
            field_validator.validate(example)
        model_name, field_name = where.split(".", 1)
        model = models.get(model_name) or params.get(model_name)
        assert model is not None, where
        field = next(f for n, f in model.model_fields.items() if field_name in (n, f.alias))
        adapter = TypeAdapter(Annotated[field.annotation, *field.metadata] if field.metadata
                              else field.annotation)
        for example in prop["examples"]:
            adapter.validate_python(example)


def test_hand_written_examples_name_existing_fields(schema):
    props = dict(_properties(schema))
    assert sorted(set(EXAMPLES) - set(props)) == []


def test_every_fault_kind_is_described_with_its_own_parameters(schema):
    spec = schema["$defs"]["FaultSpec"]
    kinds = [variant["title"] for variant in spec["oneOf"]]
    assert kinds == sorted(builtin_kinds()) == spec["properties"]["kind"]["enum"]
    latency = next(v for v in spec["oneOf"] if v["title"] == "latency")
    assert latency["x-params"] == ["add", "multiply"]
    assert latency["additionalProperties"] is False
    assert latency["x-family"] == "network"
    assert latency["description"].startswith("Slower responses")


def test_a_plugin_fault_kind_and_its_parameters_are_in_the_schema(monkeypatch, capsys):
    class SpikeParams(fault_injectors.ParamsModel):
        height: float = Field(2.0, ge=1, description="How much higher.")

    class Spike(fault_injectors.FaultInjector):
        """A test-only kind, as a plugin would register it."""

        kind = "test_spike"
        family = "llm"
        Params = SpikeParams

    fault_injectors.known_kinds()
    monkeypatch.setitem(fault_injectors._REGISTRY, "test_spike", Spike)
    assert main(["schema"]) == 0
    printed = json.loads(capsys.readouterr().out)
    variant = next(v for v in printed["$defs"]["FaultSpec"]["oneOf"] if v["title"] == "test_spike")
    assert variant["properties"]["height"]["description"] == "How much higher."
    assert variant["properties"]["height"]["default"] == 2.0
    assert "test_spike" not in builtin_kinds()


# ------------------------------------------------------------------ agrees with the loader

@pytest.mark.parametrize("path", SCENARIO_FILES, ids=lambda p: p.name)
def test_every_shipped_scenario_is_valid_under_the_schema(path: Path, validator):
    data = yaml.safe_load(path.read_text())
    assert [e.message for e in validator.iter_errors(data)] == []


def _raw(name: str = "llm_outage") -> dict[str, Any]:
    return yaml.safe_load((REPO / "scenarios" / f"{name}.yaml").read_text())


@pytest.mark.parametrize(("change", "why"), [
    (lambda d: d.update(duraton="1h"), "a misspelt top-level key"),
    (lambda d: d["faults"][0].update(kind="outgae"), "an unknown fault kind"),
    (lambda d: d["faults"][0].update(multiply=2), "a parameter of another kind"),
    (lambda d: d["traffic"][0]["synthetic"].update(rate="fast"), "a rate that is not one"),
    (lambda d: d["faults"][0].update(kind="latency", add={"dist": "gamma"}),
     "an unknown distribution"),
])
def test_the_schema_rejects_what_the_loader_rejects(change, why, validator):
    data = copy.deepcopy(_raw())
    change(data)
    assert list(validator.iter_errors(data)), why
    with pytest.raises(scenario_module.ScenarioError):
        scenario_module.scenario_from_dict(data)


def test_a_plugin_with_lax_params_allows_extra_fields(schema):
    class LaxParams(BaseModel):
        model_config = ConfigDict(extra="allow")

    class Lax(fault_injectors.FaultInjector):
        kind = "test_lax_schema"
        Params = LaxParams

    fault_injectors.known_kinds()
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(fault_injectors._REGISTRY, Lax.kind, Lax)
        variant = next(v for v in scenario_schema()["$defs"]["FaultSpec"]["oneOf"]
                       if v["title"] == Lax.kind)
    assert variant["additionalProperties"] is True

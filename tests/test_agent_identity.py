"""The agent that ran is named in results.json, the saved scenario.yaml, the report and
every "reproduce" command, whether it came from the scenario, an override or an object."""

from __future__ import annotations

import json
from pathlib import Path

import yaml
from conftest import make_scenario

import simharness as sh
from simharness.agents.identity import identify
from simharness.agents.reference import NaiveRouter
from simharness.cli import main
from simharness.report.html import write_report
from simharness.report.store import load_run

NAIVE = "simharness.agents.reference:NaiveRouter"
RESILIENT = "simharness.agents.reference:ResilientRouter"


def short(agent: str = RESILIENT) -> dict:
    return make_scenario(duration="30s", agent={"ref": agent, "workers": 4},
                         expect={"tickets.error": "== 0"})


def test_cli_override_is_in_results_scenario_report_and_reproduce_line(tmp_path: Path,
                                                                        capsys):
    scenario = tmp_path / "s.yaml"
    scenario.write_text(yaml.safe_dump(short(RESILIENT)))
    out = tmp_path / "run"
    code = main(["run", str(scenario), "--agent", NAIVE, "--out", str(out), "--quiet"])
    assert code in (0, 1)
    printed = capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert results["agent"] == {"ref": NAIVE, "class": None, "given": "override"}
    saved = (out / "scenario.yaml").read_text()
    assert yaml.safe_load(saved)["agent"]["ref"] == NAIVE
    assert saved.startswith("# This run's agent (an override): " + NAIVE)
    assert f"reproduce: simharness run {scenario} --seed 1 --agent {NAIVE}" in printed
    for slo in results["slos"]:
        assert slo["message"].endswith(f"reproduce with --seed 1 --agent {NAIVE}")
    html = (out / "report.html").read_text()
    assert f"simharness run scenario.yaml --seed 1 --agent {NAIVE}" in html
    assert f"agent <b>{NAIVE}</b>" in html
    # the saved directory reruns the same agent
    again = sh.run(out / "scenario.yaml")
    assert again.agent.ref == NAIVE and again.records == sh.run(
        short(RESILIENT), agent=NAIVE).records


def test_the_scenarios_own_agent_is_named_too(tmp_path: Path):
    result = sh.run(short(RESILIENT))
    assert result.to_json()["agent"] == {"ref": RESILIENT, "class": None, "given": "scenario"}
    result.save(tmp_path)
    assert not (tmp_path / "scenario.yaml").read_text().startswith("#")
    assert result.reproduce_command() == f"simharness run <dict> --seed 1 --agent {RESILIENT}"


def test_an_object_is_named_by_its_class_which_reproduces_it(tmp_path: Path):
    result = sh.run(short(RESILIENT), agent=NaiveRouter())
    assert result.agent.to_json() == {"ref": NAIVE, "class": NAIVE, "given": "object"}
    result.save(tmp_path)
    saved = (tmp_path / "scenario.yaml").read_text()
    assert yaml.safe_load(saved)["agent"]["ref"] == NAIVE
    assert "an object passed in Python" in saved.splitlines()[0]


def test_an_object_that_cannot_be_imported_says_so_instead_of_naming_another(tmp_path):
    class Local:
        def handle(self, payload):
            return "billing"

    result = sh.run(short(RESILIENT), agent=Local())
    assert result.agent.ref is None and result.agent.cls.endswith("<locals>.Local")
    assert "--agent" not in result.reproduce_command()
    result.save(tmp_path)
    saved = (tmp_path / "scenario.yaml").read_text()
    assert "is NOT the agent that ran" in saved.splitlines()[1]
    page = write_report(load_run(tmp_path), tmp_path).read_text()
    assert "cannot be imported by name" in page and "Local" in page


def test_functions_and_classes_are_identified_by_module_and_name():
    assert identify(NaiveRouter, None).ref == NAIVE
    assert identify(json.dumps, None).ref == "json:dumps"
    assert identify(lambda p: "x", None).ref is None
    assert identify(None, RESILIENT).given == "scenario"
    assert identify(RESILIENT, RESILIENT).given == "scenario"


def test_compare_rows_name_the_agent_that_ran(tmp_path: Path):
    from simharness.compare import compare

    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(short(RESILIENT)))
    rows = compare([path], [NAIVE])
    assert [row.agent for row in rows] == ["NaiveRouter"]

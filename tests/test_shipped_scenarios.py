"""The scenarios in scenarios/: they load, and the resilient reference agent beats the
naive one where it matters (inside the fault windows), as each scenario's header says."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import REPO

import simharness as sh
from simharness.agents.reference import NaiveRouter, ResilientRouter
from simharness.metrics import lookup

SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
FAULTED = [p for p in SCENARIOS if p.stem != "baseline"]
# What each scenario is really about, where that is more than accuracy and failures.
HIGHER, LOWER = 1, -1
HEADLINE = {"high_value_escalation": ("escalation.recall", HIGHER),
            "conversations": ("routing.by_tag.mind_change", HIGHER),
            "budget_runaway": ("cost.per_ticket_usd", LOWER)}


def test_every_shipped_scenario_is_documented_and_valid():
    names = {p.stem for p in SCENARIOS}
    assert names >= {"baseline", "llm_outage", "rate_limit_storm", "latency_degradation",
                     "malformed_flood", "conversations", "high_value_escalation",
                     "traffic_spike", "budget_runaway"}
    for path in SCENARIOS:
        text = path.read_text()
        assert text.startswith(f"# {path.stem}:"), f"{path.name} needs a header comment"
        scenario = sh.load_scenario(path)
        assert scenario.expect, f"{path.name} states no SLOs"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", FAULTED, ids=lambda p: p.stem)
def test_resilient_router_beats_naive_router_inside_fault_windows(path: Path):
    scenario = sh.load_scenario(path)
    naive = sh.run(scenario, agent=NaiveRouter()).metrics
    resilient_result = sh.run(scenario, agent=ResilientRouter())
    resilient = resilient_result.metrics
    assert (resilient["routing"]["accuracy@faults"]
            > naive["routing"]["accuracy@faults"]), (resilient["routing"], naive["routing"])
    assert resilient["tickets"]["error"] == 0
    if naive["tickets"]["failed"]:
        assert resilient["tickets"]["failed"] < naive["tickets"]["failed"]
    else:  # nothing crashes the naive agent here; the scenario is about judgement
        assert resilient["tickets"]["failed"] == 0
    assert resilient_result.passed, [s.message for s in resilient_result.slos]
    if path.stem in HEADLINE:
        metric, better = HEADLINE[path.stem]
        assert better * lookup(resilient, metric) > better * lookup(naive, metric)


@pytest.mark.timeout(120)
def test_baseline_is_passed_by_both_reference_agents():
    scenario = sh.load_scenario(REPO / "scenarios" / "baseline.yaml")
    for agent in (NaiveRouter(), ResilientRouter()):
        result = sh.run(scenario, agent=agent)
        assert result.passed, [s.message for s in result.slos]

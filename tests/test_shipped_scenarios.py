"""The scenarios in scenarios/: they load, the resilient reference agent beats the
naive one where it matters (inside the fault windows), as each scenario's header says, and
the README's comparison table is what `simharness compare scenarios/*.yaml --markdown`
prints. Each run is made once and shared by these tests."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from conftest import REPO

import simharness as sh
import simharness.compare as compare_module
from simharness.cli import main
from simharness.compare import REFERENCE_AGENTS
from simharness.metrics import lookup

SCENARIOS = sorted((REPO / "scenarios").glob("*.yaml"))
FAULTED = [p for p in SCENARIOS if p.stem != "baseline"]
#: The first line of every shipped scenario: VS Code's YAML extension reads the schema from it.
SCHEMA_LINE = "# yaml-language-server: $schema=../scenario.schema.json"
# What each scenario is really about, where that is more than accuracy and failures.
HIGHER, LOWER = 1, -1
HEADLINE = {"high_value_escalation": ("escalation.recall", HIGHER),
            "conversations": ("routing.by_tag.mind_change", HIGHER),
            "budget_runaway": ("cost.per_ticket_usd", LOWER)}
NAIVE, RESILIENT = REFERENCE_AGENTS


@dataclass(frozen=True)
class Outcome:
    """What these tests and `compare` read from a run (records are not kept: eighteen
    runs' worth would only slow the garbage collector)."""

    metrics: dict[str, Any]
    slos: list[sh.SLOResult]
    passed: bool
    arrivals: np.ndarray  # each ticket's arrival time and queue wait (compact)
    waits: np.ndarray


_RUNS: dict[tuple[str, str, int | None], Outcome] = {}


def shipped_run(scenario: sh.Scenario | Path, agent: str, seed: int | None = None,
                max_tickets: int | None = None) -> Outcome:
    """`sh.run`, made once per scenario, agent and seed in this test session."""
    loaded = scenario if isinstance(scenario, sh.Scenario) else sh.load_scenario(scenario)
    key = (loaded.name, agent, seed)
    if key not in _RUNS:
        result = sh.run(loaded, agent=agent, seed=seed, max_tickets=max_tickets)
        _RUNS[key] = Outcome(result.metrics, result.slos, result.passed,
                             np.array([r.arrived_at for r in result.records]),
                             np.array([r.wait_s for r in result.records]))
    return _RUNS[key]


def test_every_shipped_scenario_is_documented_and_valid():
    names = {p.stem for p in SCENARIOS}
    assert names >= {"baseline", "llm_outage", "rate_limit_storm", "latency_degradation",
                     "malformed_flood", "conversations", "high_value_escalation",
                     "traffic_spike", "budget_runaway"}
    for path in SCENARIOS:
        first, second = path.read_text().splitlines()[:2]
        assert first == SCHEMA_LINE, f"{path.name} must start with {SCHEMA_LINE!r}"
        assert second.startswith(f"# {path.stem}:"), f"{path.name} needs a header comment"
        scenario = sh.load_scenario(path)
        assert scenario.expect, f"{path.name} states no SLOs"


@pytest.mark.timeout(180)
@pytest.mark.parametrize("path", FAULTED, ids=lambda p: p.stem)
def test_resilient_router_beats_naive_router_inside_fault_windows(path: Path):
    scenario = sh.load_scenario(path)
    naive = shipped_run(scenario, NAIVE).metrics
    resilient_result = shipped_run(scenario, RESILIENT)
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
    if path.stem == "traffic_spike":
        assert_queue_forms_in_the_spike(resilient_result)


def assert_queue_forms_in_the_spike(result: Outcome) -> None:
    """The header promises that workers saturate and a queue builds from minute 20 to 30."""
    before = result.waits[result.arrivals < 20 * 60]
    spike = result.waits[(result.arrivals >= 20 * 60) & (result.arrivals < 30 * 60)]
    assert before.max() < 5.0, "no queue before the spike"
    assert spike.mean() > 1.5, "the spike's tickets wait seconds on average"
    assert spike.max() > 15.0


@pytest.mark.timeout(120)
def test_baseline_is_passed_by_both_reference_agents():
    for agent in REFERENCE_AGENTS:
        result = shipped_run(REPO / "scenarios" / "baseline.yaml", agent)
        assert result.passed, [s.message for s in result.slos]


def readme_table() -> str:
    """The table after the README line that names the command producing it."""
    text = (REPO / "README.md").read_text()
    after = text.split("`simharness compare scenarios/*.yaml --markdown`", 1)[1]
    lines = after.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("|"))
    end = next(i for i in range(start, len(lines)) if not lines[i].startswith("|"))
    return "\n".join(lines[start:end])


# Alone it makes all 18 runs; after the tests above, none.
@pytest.mark.timeout(900)
def test_readme_comparison_table_is_what_compare_prints(monkeypatch, capsys):
    monkeypatch.setattr(compare_module, "run", shipped_run)
    assert main(["compare", *map(str, SCENARIOS), "--markdown"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed.count("\n") == 1 + 2 * len(SCENARIOS)
    assert readme_table() == printed, (
        "README.md's comparison table differs from what the command prints now; "
        "regenerate it with `simharness compare scenarios/*.yaml --markdown`:\n" + printed)

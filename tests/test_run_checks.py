"""Runs that cannot be meant are refused before they start; runs that measured nothing
never pass; allowed-but-suspicious scenarios are warned about."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import make_scenario

import simharness as sh
from simharness.checks import DEFAULT_MAX_TICKETS, estimate, run_errors, warnings
from simharness.cli import main
from simharness.scenario import scenario_from_dict, scenario_from_yaml
from simharness.sweep import sweep


def synthetic(**fields) -> list[dict]:
    return [{"synthetic": {"routes": ["billing", "technical"], **fields}}]


def test_estimate_integrates_rates_over_when_sources_send():
    scenario = scenario_from_dict(make_scenario(duration="1h", traffic=[
        *synthetic(rate="2/s"),
        *synthetic(schedule=[{"at": "10m", "rate": "1/s"}, {"at": "20m", "rate": "0/s"}]),
        *synthetic(rate="1/s", start="50m", until="2h")]))
    guess = estimate(scenario)
    assert guess.per_source == (7200.0, 600.0, 600.0)
    assert guess.tickets == 8400.0 and guess.record_bytes > 0


def test_a_run_of_a_billion_tickets_is_refused_at_load_naming_the_rate(tmp_path: Path, capsys):
    path = tmp_path / "huge.yaml"
    path.write_text("name: huge\nduration: 1h\ntraffic:\n  - synthetic:\n"
                    "      rate: 1e9/s\n")
    errors = run_errors(sh.load_scenario(path))
    assert len(errors) == 1
    assert (errors[0].line, errors[0].path) == (5, "traffic[0].synthetic.rate")
    assert "3,600,000,000,000 tickets" in errors[0].message
    assert "--max-tickets" in errors[0].message
    with pytest.raises(sh.ScenarioError, match="over the limit"):
        sh.run(path, agent=lambda payload: "billing")
    code = main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")])
    assert code == 2
    assert "huge.yaml:5:" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_ten_years_at_the_default_rate_is_refused_too():
    scenario = scenario_from_dict(make_scenario(duration="3650d"))
    assert "over the limit" in run_errors(scenario)[0].message
    assert not run_errors(scenario, max_tickets=10**9)


def test_max_tickets_raises_or_lowers_the_limit(tmp_path: Path, capsys):
    data = make_scenario(duration="1m", traffic=synthetic(rate="2/s"))
    assert sh.run(data, agent=lambda payload: "billing", max_tickets=1000).records
    with pytest.raises(sh.ScenarioError, match="over the limit of 100"):
        sh.run(data, agent=lambda payload: "billing", max_tickets=100)
    assert DEFAULT_MAX_TICKETS == 1_000_000


def test_traffic_that_sends_nothing_is_refused_before_running(tmp_path: Path, capsys):
    path = tmp_path / "zero.yaml"
    path.write_text("name: zero\nduration: 10m\ntraffic:\n  - synthetic: {rate: 0/s}\n"
                    "expect:\n  tickets.error: '== 0'\n")
    code = main(["run", str(path), "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert "sends no tickets" in err and "zero.yaml:4" in err
    with pytest.raises(sh.ScenarioError, match="measure nothing"):
        sh.run(path, agent=lambda payload: "billing")


def test_a_run_in_which_no_ticket_arrived_does_not_pass(tmp_path: Path, capsys):
    """One ticket expected, none drawn: every SLO says "no data" and the command exits 2."""
    path = tmp_path / "sparse.yaml"
    path.write_text("name: sparse\nseed: 1\nduration: 1s\ntraffic:\n"
                    "  - synthetic: {rate: 0.001/s}\nexpect:\n  tickets.error: '== 0'\n")
    result = sh.run(path, agent=lambda payload: "billing")
    assert result.records == [] and result.measured_nothing
    assert not result.passed
    assert [s.passed for s in result.slos] == [False]
    assert "no data" in result.slos[0].message
    code = main(["run", str(path), "--quiet", "--out", str(tmp_path / "out"), "--agent",
                 "simharness.agents.reference:NaiveRouter"])
    captured = capsys.readouterr()
    assert code == 2
    assert "measured nothing" in captured.err
    assert (tmp_path / "out" / "results.json").exists()  # what there is, is kept


def test_sweep_refuses_a_grid_point_without_traffic_before_any_run():
    data = make_scenario(duration="1m")
    with pytest.raises(sh.ScenarioError, match="sends no tickets"):
        sweep(data, {"traffic[0].synthetic.rate": ["1/s", "0/s"]}, seeds=1,
              agent=lambda payload: "billing", executor="serial")


FAULTS_YAML = """\
name: faults
duration: 2m
traffic: [{synthetic: {rate: 1/s}}]
faults:
  - {name: late, kind: outage, target: llm, at: 10m, duration: 1m}
  - {name: fine, kind: outage, target: llm, at: 30s, duration: 10s}
  - {name: aimless, kind: truncated, target: llm}
  - {name: lost, kind: refusal, target: tools.crm}
  - {name: dup, kind: duplicate_delivery, target: tools.crm}
"""


def test_faults_that_cannot_act_are_warned_about_with_lines():
    found = warnings(scenario_from_yaml(FAULTS_YAML, "faults.yaml"))
    by_path = {w.path: w for w in found}
    assert set(by_path) == {"faults[0].at", "faults[2].target", "faults[3].target",
                            "faults[4].target"}
    assert by_path["faults[0].at"].line == 5
    assert "arrivals have ended" in by_path["faults[0].at"].message
    assert "is ignored" in by_path["faults[2].target"].message
    assert "never fire" in by_path["faults[3].target"].message


def test_run_prints_scenario_warnings_on_stderr(tmp_path: Path, capsys):
    path = tmp_path / "faults.yaml"
    path.write_text(FAULTS_YAML)
    code = main(["run", str(path), "--quiet", "--agent",
                 "simharness.agents.reference:ResilientRouter", "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err
    assert code == 0
    assert err.count("warning: ") == 4 and "faults.yaml:5:" in err


@pytest.mark.parametrize("seed", ["abc", 1.5, True, [1]])
def test_run_rejects_seeds_the_scenario_file_would_reject(seed):
    with pytest.raises(sh.ScenarioError, match="seed: expected a whole number"):
        sh.run(make_scenario(duration="10s"), agent=lambda payload: "billing", seed=seed)
    with pytest.raises(sh.ScenarioError, match="seeds: expected a whole number"):
        sweep(make_scenario(duration="10s"), {}, seeds=[1, seed],
              agent=lambda payload: "billing", executor="serial")


def test_numpy_integer_seeds_are_whole_numbers():
    np = pytest.importorskip("numpy")
    result = sh.run(make_scenario(duration="10s"), agent=lambda payload: "billing",
                    seed=np.int64(3))
    assert result.seed == 3 and type(result.seed) is int


def test_replayed_sources_are_not_counted_as_empty(tmp_path: Path):
    data = tmp_path / "t.csv"
    data.write_text("text,label\nmy invoice is wrong,billing\n")
    scenario = scenario_from_dict(make_scenario(duration="1m", traffic=[
        {"replay": {"path": str(data), "columns": {"text": "text", "route": "label"},
                    "timing": {"rate": "5/s"}}}]))
    guess = estimate(scenario)
    assert guess.per_source == (None,) and not guess.complete
    assert run_errors(scenario) == []

"""What Jupyter shows for a Result, a SweepResult and a Scenario, and their DataFrames."""

from __future__ import annotations

import builtins
import math

import pytest
from conftest import make_scenario

import simharness as sh
from simharness.agents.reference import NaiveRouter


@pytest.fixture(scope="module")
def result() -> sh.Result:
    data = make_scenario(duration="2m", faults=[{"name": "llm-down", "kind": "outage",
                                                 "target": "llm", "at": "30s",
                                                 "duration": "30s"}],
                         expect={"tickets.error": "== 0", "tickets.total": ">= 1"})
    return sh.run(data, agent=NaiveRouter(), seed=3)


def test_result_html_shows_verdicts_headline_metrics_and_fault_windows(result):
    html = result._repr_html_()
    assert "FAIL" in html and "PASS" in html  # one SLO fails (errors), one passes
    assert "<code>tickets.error</code>" in html
    assert f"{result.metrics['routing']['accuracy']:.3f}" in html
    assert "llm-down" in html and "30s" in html and "1m" in html  # the fault window
    assert "<script" not in html


def test_scenario_html_shows_agent_traffic_slos_and_faults(result):
    html = result.scenario._repr_html_()
    assert "2m" in html and "1/s" in html and "tickets.error" in html and "llm-down" in html
    assert "30s – 1m" in html


def test_names_are_escaped():
    scenario = sh.Scenario.model_validate(make_scenario(name="<b>x</b>"))
    assert "&lt;b&gt;x&lt;/b&gt;" in scenario._repr_html_()


def test_result_to_pandas_has_one_row_per_ticket(result):
    frame = result.to_pandas()
    assert len(frame) == result.metrics["tickets"]["total"]
    assert (frame["status"] == "error").sum() == result.metrics["tickets"]["error"]
    assert math.isclose(frame["cost_usd"].sum(), result.metrics["cost"]["total_usd"])


def test_sweep_views_and_frames():
    sweep = sh.sweep(make_scenario(duration="1m"), {"traffic[0].synthetic.rate": ["1/s", "2/s"]},
                     seeds=2, executor="serial", agent=NaiveRouter())
    rows, summary = sweep.to_pandas(), sweep.to_pandas(summary=True)
    assert len(rows) == 4 and list(rows["seed"]) == [1, 2, 1, 2]
    assert len(summary) == 2
    first = [r["metrics"]["routing.accuracy"] for r in sweep.rows[:2]]
    assert summary.loc[0, "routing.accuracy"] == pytest.approx(sum(first) / 2)
    assert summary.loc[0, "routing.accuracy:ci_low"] <= summary.loc[0, "routing.accuracy"]
    html = sweep._repr_html_()
    assert "pass^2" in html and "traffic[0].synthetic.rate=1/s" in html


def test_to_pandas_without_pandas_says_how_to_get_it(result, monkeypatch):
    real_import = builtins.__import__

    def no_pandas(name, *args, **kwargs):
        if name == "pandas":
            raise ImportError("No module named 'pandas'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_pandas)
    with pytest.raises(ImportError, match=r"pip install 'simharness\[pandas\]'"):
        result.to_pandas()

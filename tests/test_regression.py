"""Baseline comparison: metric directions, the significance tests (checked against scipy),
verdicts, tolerances, and `simharness diff` on real runs and sweeps."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
from scipy import stats

from simharness.cli import main
from simharness.history import Sample
from simharness.metrics.direction import HIGHER_IS_BETTER, LOWER_IS_BETTER, NEUTRAL, direction
from simharness.regression import (
    IDENTICAL,
    IMPROVEMENT,
    NO_CHANGE,
    NOT_TESTED,
    REGRESSION,
    WITHIN_TOLERANCE,
    DiffError,
    Side,
    Tolerance,
    compare,
    holm,
    load_side,
    parse_tolerance,
    render,
    significance,
)

SCENARIO = """\
name: gate
seed: 11
duration: 1m
agent:
  ref: simharness.agents.reference:ResilientRouter
traffic:
  - synthetic:
      rate: 2/s
"""

#: The reference router with its confidence gate off: it always takes the small model's
#: answer, so it is cheaper, faster and clearly less accurate.
WORSE_AGENT = """\
from simharness.agents.reference import ResilientRouter


class WorseRouter(ResilientRouter):
    def __init__(self, **kwargs):
        super().__init__(**{**kwargs, "confidence_threshold": 0.0})
"""


def side(values: dict[str, list[float]], seeds: list[int] | None = None,
         name: str = "side") -> Side:
    n = len(next(iter(values.values())))
    seeds = seeds or list(range(n))
    samples = [Sample(seed=s, metrics={m: v[i] for m, v in values.items()})
               for i, s in enumerate(seeds)]
    return Side(name, "scenario", {"": samples})


def delta_of(comparison, metric):
    (d,) = [d for d in comparison.deltas if d.metric == metric]
    return d


# ------------------------------------------------------------------ directions

@pytest.mark.parametrize("path, expected", [
    ("routing.accuracy", HIGHER_IS_BETTER),
    ("routing.accuracy@faults", HIGHER_IS_BETTER),
    ("routing.accuracy@fault:llm.large-down", HIGHER_IS_BETTER),
    ("routing.macro_f1", HIGHER_IS_BETTER),
    ("routing.per_route.billing.recall", HIGHER_IS_BETTER),
    ("routing.by_tag.multi_issue", HIGHER_IS_BETTER),
    ("escalation.recall", HIGHER_IS_BETTER),
    ("tickets.ok", HIGHER_IS_BETTER),
    ("tickets.failure_rate", LOWER_IS_BETTER),
    ("tickets.hung", LOWER_IS_BETTER),
    ("escalation.missed_high_value", LOWER_IS_BETTER),
    ("routing.review_rate", LOWER_IS_BETTER),
    ("latency.p95", LOWER_IS_BETTER),
    ("latency.wait.mean", LOWER_IS_BETTER),
    ("cost.per_ticket_usd", LOWER_IS_BETTER),
    ("calls.retries", LOWER_IS_BETTER),
    ("recovery.outage.time_to_recover", LOWER_IS_BETTER),
    ("client.retry_after_ignored", LOWER_IS_BETTER),
    ("client.tickets_flagged", LOWER_IS_BETTER),
    ("tickets.total", NEUTRAL),
    ("routing.per_route.billing.support", NEUTRAL),
    ("faults.outage", NEUTRAL),
    ("recovery.outage.start", NEUTRAL),
    ("something.new", NEUTRAL),
])
def test_each_metric_knows_which_way_is_worse(path, expected):
    assert direction(path) == expected


# ------------------------------------------------------------------ statistics (validity)

A = [0.91, 0.93, 0.92, 0.95, 0.90]
B = [0.86, 0.89, 0.85, 0.90, 0.84]


def test_paired_t_matches_scipy_when_both_sides_ran_the_same_seeds():
    a = [Sample(seed=s, metrics={"m": v}) for s, v in enumerate(A)]
    b = [Sample(seed=s, metrics={"m": v}) for s, v in enumerate(B)]
    test = significance(a, b, "m")
    reference = stats.ttest_rel(B, A)
    assert test is not None and test.name.startswith("paired t")
    assert test.p == pytest.approx(reference.pvalue, rel=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert test.ci == pytest.approx((low, high), rel=1e-9)


def test_welch_t_matches_scipy_when_the_seeds_differ():
    a = [Sample(seed=s, metrics={"m": v}) for s, v in enumerate(A)]
    b = [Sample(seed=10 + s, metrics={"m": v}) for s, v in enumerate(B[:4])]
    test = significance(a, b, "m")
    reference = stats.ttest_ind(B[:4], A, equal_var=False)
    assert test is not None and test.name == "Welch t, 5 vs 4"
    assert test.p == pytest.approx(reference.pvalue, rel=1e-9)
    low, high = reference.confidence_interval(0.95)
    assert test.ci == pytest.approx((low, high), rel=1e-9)


def test_one_run_against_several_uses_the_prediction_interval():
    a = [Sample(seed=s, metrics={"m": v}) for s, v in enumerate(A)]
    b = [Sample(seed=99, metrics={"m": 0.80})]
    test = significance(a, b, "m")
    mean, sd, n = sum(A) / 5, stats.tstd(A), 5
    t = (0.80 - mean) / (sd * math.sqrt(1 + 1 / n))
    assert test is not None and test.name == "prediction t, 1 vs 5"
    assert test.p == pytest.approx(2 * stats.t.sf(abs(t), n - 1), rel=1e-9)
    # the same single run on the other side gives the same p and the opposite delta
    flipped = significance(b, a, "m")
    assert flipped is not None and flipped.p == pytest.approx(test.p)
    assert flipped.ci[0] == pytest.approx(-test.ci[1])


def test_one_seed_per_side_is_not_tested():
    a = [Sample(seed=1, metrics={"m": 0.9})]
    b = [Sample(seed=1, metrics={"m": 0.5})]
    assert significance(a, b, "m") is None


def test_never_recovered_is_not_tested_but_nan_is_left_out():
    inf = [Sample(seed=s, metrics={"m": v}) for s, v in enumerate([1.0, math.inf, 2.0])]
    fine = [Sample(seed=s, metrics={"m": v}) for s, v in enumerate([1.0, 1.5, 2.0])]
    assert significance(inf, fine, "m") is None
    holes = [Sample(seed=s, metrics={"m": v}) for s, v in enumerate([1.0, math.nan, 2.0])]
    test = significance(holes, fine, "m")
    assert test is not None and test.name == "Welch t, 2 vs 3"  # seed 1 missing: unpaired


def test_holm_adjustment_matches_its_definition():
    p = [0.01, 0.04, 0.03, 0.005]
    # sorted: 0.005*4=0.02, 0.01*3=0.03, 0.03*2=0.06, 0.04*1 -> max(0.06, 0.04) = 0.06
    assert holm(p) == pytest.approx([0.03, 0.06, 0.06, 0.02])


# ------------------------------------------------------------------ verdicts

def test_accuracy_down_is_a_regression_and_latency_down_an_improvement():
    a = side({"routing.accuracy": A, "latency.p95": [3.0, 3.2, 3.1, 2.9, 3.0]})
    b = side({"routing.accuracy": B, "latency.p95": [2.0, 2.1, 2.2, 1.9, 2.0]})
    comparison = compare(a, b, metrics=["*"])
    assert delta_of(comparison, "routing.accuracy").verdict == REGRESSION
    assert delta_of(comparison, "latency.p95").verdict == IMPROVEMENT
    # the other way round, the same figures read the other way
    back = compare(b, a, metrics=["*"])
    assert delta_of(back, "routing.accuracy").verdict == IMPROVEMENT
    assert delta_of(back, "latency.p95").verdict == REGRESSION
    assert [d.metric for d in back.regressions] == ["latency.p95"]


def test_cost_and_failures_up_are_regressions():
    a = side({"cost.per_ticket_usd": [1.0, 1.1, 1.0, 0.9, 1.0],
              "tickets.failure_rate": [0.01, 0.02, 0.01, 0.0, 0.01]})
    b = side({"cost.per_ticket_usd": [1.5, 1.6, 1.4, 1.5, 1.6],
              "tickets.failure_rate": [0.11, 0.12, 0.1, 0.1, 0.13]})
    comparison = compare(a, b, metrics=["*"])
    assert {d.metric for d in comparison.regressions} == {"cost.per_ticket_usd",
                                                          "tickets.failure_rate"}


def test_a_wobble_within_the_seeds_spread_is_no_significant_change():
    a = side({"routing.accuracy": [0.90, 0.95, 0.88, 0.93, 0.91]})
    b = side({"routing.accuracy": [0.92, 0.89, 0.94, 0.90, 0.88]})
    d = delta_of(compare(a, b), "routing.accuracy")
    assert d.verdict == NO_CHANGE and d.p_adjusted is not None and d.p_adjusted > 0.05


def test_a_tolerance_forgives_a_small_significant_regression():
    a = side({"routing.accuracy": [0.950, 0.951, 0.949, 0.950, 0.952]})
    b = side({"routing.accuracy": [0.945, 0.946, 0.944, 0.945, 0.947]})
    assert delta_of(compare(a, b), "routing.accuracy").verdict == REGRESSION
    loose = compare(a, b, tolerances={"routing.*": Tolerance(0.01)})
    assert delta_of(loose, "routing.accuracy").verdict == WITHIN_TOLERANCE
    relative = compare(a, b, tolerances={"routing.accuracy": Tolerance(0.001, relative=True)})
    assert delta_of(relative, "routing.accuracy").verdict == REGRESSION  # 0.5 % > 0.1 %


def test_with_one_seed_per_side_only_an_explicit_tolerance_can_flag():
    a = side({"latency.p95": [3.0]})
    b = side({"latency.p95": [4.0]})
    assert delta_of(compare(a, b), "latency.p95").verdict == NOT_TESTED
    assert "no delta was tested" in compare(a, b).summary()
    gated = compare(a, b, tolerances={"latency.p95": parse_tolerance("latency.p95=10%")[1]})
    assert delta_of(gated, "latency.p95").verdict == REGRESSION
    within = compare(a, b, tolerances={"latency.p95": Tolerance(1.5)})
    assert delta_of(within, "latency.p95").verdict == NOT_TESTED
    same = compare(a, side({"latency.p95": [3.0]}))
    assert delta_of(same, "latency.p95").verdict == IDENTICAL


def test_holm_keeps_many_metrics_from_raising_false_alarms():
    # one metric barely significant on its own is not significant among ten
    a_vals = [0.90, 0.92, 0.91, 0.93, 0.89]
    b_vals = [0.87, 0.915, 0.89, 0.92, 0.875]
    raw = stats.ttest_rel(b_vals, a_vals).pvalue
    assert 0.005 < raw < 0.05
    metrics = {f"routing.by_tag.t{i}": a_vals for i in range(10)}
    others = {f"routing.by_tag.t{i}": a_vals for i in range(1, 10)}
    comparison = compare(side(metrics), side({"routing.by_tag.t0": b_vals, **others}),
                         metrics=["routing.*"])
    d = delta_of(comparison, "routing.by_tag.t0")
    assert d.test is not None and d.test.p == pytest.approx(raw)
    assert d.p_adjusted == pytest.approx(min(1.0, 10 * raw))
    assert d.verdict == NO_CHANGE


def test_neutral_metrics_are_shown_but_never_judged():
    a = side({"tickets.total": [100, 110, 105], "routing.accuracy": [0.9, 0.91, 0.92]})
    b = side({"tickets.total": [300, 310, 305], "routing.accuracy": [0.9, 0.91, 0.92]})
    d = delta_of(compare(a, b), "tickets.total")
    assert d.verdict == "" and d.test is None and d.delta == pytest.approx(200)


@pytest.mark.parametrize("text, message", [
    ("routing.accuracy", "expected METRIC=VALUE"),
    ("latency.p95=fast", "is not a number"),
    ("latency.p95=-1", "zero or more"),
])
def test_bad_tolerances_are_clear_errors(text, message):
    with pytest.raises(DiffError, match=message):
        parse_tolerance(text)


def test_sweeps_are_compared_grid_point_by_grid_point():
    def sweep_side(shift: float) -> Side:
        groups = {}
        for point, label in enumerate(["rate=1/s", "rate=4/s"]):
            groups[label] = [Sample(seed=s, point=point, label=label,
                                    metrics={"routing.accuracy": v - shift * point})
                             for s, v in enumerate(A)]
        return Side("sweep", "scenario", groups)

    comparison = compare(sweep_side(0.0), sweep_side(0.05))
    verdicts = {d.group: d.verdict for d in comparison.deltas}
    assert verdicts == {"rate=1/s": NO_CHANGE, "rate=4/s": REGRESSION}
    text = render(comparison)
    assert "grid point: rate=4/s" in text and "routing.accuracy [rate=4/s]" in text


# ------------------------------------------------------------------ the command on real runs

def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _sweep(capsys, scenario: Path, out: Path, *extra: str) -> int:
    code = main(["sweep", str(scenario), "--seeds", "5", "--executor", "serial", "--quiet",
                 "--out", str(out), *extra])
    text = capsys.readouterr().out
    assert code == 0, text
    (line,) = [ln for ln in text.splitlines() if ln.startswith("recorded as sweep #")]
    return int(line.split("#")[1].split()[0])


@pytest.mark.timeout(180)
def test_diff_flags_a_worse_agent_and_not_the_same_agent_twice(tmp_path, capsys,
                                                                monkeypatch):
    monkeypatch.setenv("SIMHARNESS_HISTORY", str(tmp_path / "runs.db"))
    monkeypatch.syspath_prepend(str(tmp_path))
    _write(tmp_path, "worse_agent.py", WORSE_AGENT)
    scenario = _write(tmp_path, "gate.yaml", SCENARIO)
    base = _sweep(capsys, scenario, tmp_path / "base")
    again = _sweep(capsys, scenario, tmp_path / "again")
    worse = _sweep(capsys, scenario, tmp_path / "worse", "--agent", "worse_agent:WorseRouter")
    other_seeds = _write(tmp_path, "gate2.yaml", SCENARIO.replace("seed: 11", "seed: 31"))
    fresh = _sweep(capsys, other_seeds, tmp_path / "fresh")

    # a deliberately worse agent over 5 seeds: a significant regression, and exit 1
    code = main(["diff", str(base), str(worse), "--fail-on-regression"])
    out = capsys.readouterr().out
    assert code == 1, out
    (line,) = [ln for ln in out.splitlines() if ln.strip().startswith("routing.accuracy ")]
    assert "paired t, 5 seeds" in line and line.rstrip().endswith("regression")
    assert "regression(s): routing.accuracy (p=" in out
    # the same figures from the directories instead of the ids
    comparison = compare(load_side(tmp_path / "base"), load_side(tmp_path / "worse"))
    accuracy = delta_of(comparison, "routing.accuracy")
    assert accuracy.verdict == REGRESSION and accuracy.delta < -0.03
    assert accuracy.p_adjusted is not None and accuracy.p_adjusted < 0.01

    # the same agent again (same seeds: identical runs) and on other seeds: no change
    for other in (again, fresh):
        code = main(["diff", str(base), str(other), "--fail-on-regression"])
        out = capsys.readouterr().out
        assert code == 0, out
        assert "no significant regression" in out
    comparison = compare(load_side(str(base)), load_side(str(fresh)))
    assert {d.verdict for d in comparison.deltas if d.test} == {NO_CHANGE}
    assert delta_of(comparison, "routing.accuracy").test.name == "Welch t, 5 vs 5"


def test_diff_of_single_runs_and_bad_sides(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SIMHARNESS_HISTORY", str(tmp_path / "runs.db"))
    scenario = _write(tmp_path, "gate.yaml", SCENARIO)
    assert main(["run", str(scenario), "--quiet", "--out", str(tmp_path / "one")]) in (0, 1)
    assert main(["run", str(scenario), "--quiet", "--seed", "12", "--out",
                 str(tmp_path / "two"), "--agent",
                 "simharness.agents.reference:NaiveRouter"]) in (0, 1)
    capsys.readouterr()
    code = main(["diff", str(tmp_path / "one"), "2", "--fail-on-regression"])
    out = capsys.readouterr().out
    assert code == 0 and "one seed per side, so no delta was tested" in out
    assert "B: run #2: gate, reference:NaiveRouter @ " in out
    # a tolerance gates single runs the way pytest-benchmark's thresholds do
    results = [json.loads((tmp_path / d / "results.json").read_text()) for d in ("one", "two")]
    p95 = [r["metrics"]["latency"]["p95"] for r in results]
    assert p95[1] > p95[0] * 1.05  # NaiveRouter is slower
    code = main(["diff", "1", "2", "--fail-on-regression", "--tolerance", "latency.p95=5%"])
    out = capsys.readouterr().out
    assert code == 1 and "latency.p95 (beyond tolerance 5%, untested)" in out

    for bad, message in ((["diff", "1", "99"], "no run #99"),
                         (["diff", "1", str(tmp_path / "nowhere")], "neither a run id"),
                         (["diff", "1", str(tmp_path)], "neither results.json"),
                         (["diff", "1", "2", "--tolerance", "x"], "expected METRIC=VALUE"),
                         (["diff", "1", "2", "--metric", "nothing.*"], "no metric to compare")):
        assert main(bad) == 2
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


# ------------------------------------------------------------------ baselines (pytest plugin)

def test_find_baseline_picks_the_scenarios_run_from_a_folder_or_the_history(tmp_path):
    import simharness as sh
    from simharness.history import record_result
    from simharness.regression import LATEST, find_baseline

    gate = sh.run(scenario_from(SCENARIO), seed=11)
    other = sh.run(scenario_from(SCENARIO.replace("name: gate", "name: other")), seed=11)
    gate.save(tmp_path / "runs" / "gate-seed11")
    other.save(tmp_path / "runs" / "other-seed11")
    found = find_baseline(tmp_path / "runs", "gate")
    assert found is not None and found.name == str(tmp_path / "runs" / "gate-seed11")
    assert find_baseline(tmp_path / "runs", "new-scenario") is None
    assert find_baseline(tmp_path / "runs" / "other-seed11", "gate") is None

    db = tmp_path / "runs.db"
    assert find_baseline(LATEST, "gate", db) is None
    record_result(gate, db)
    record_result(other, db)
    found = find_baseline(LATEST, "gate", db)
    assert found is not None and found.name == "run #1"


@pytest.mark.timeout(180)
def test_compare_to_baseline_flags_worse_live_results(tmp_path, monkeypatch):
    import simharness as sh
    from simharness.history import record_sweep
    from simharness.regression import LATEST, compare_to_baseline

    monkeypatch.syspath_prepend(str(tmp_path))
    _write(tmp_path, "worse_agent.py", WORSE_AGENT)
    from worse_agent import WorseRouter  # type: ignore[import-not-found]

    db = tmp_path / "runs.db"
    scenario = scenario_from(SCENARIO)
    seeds = range(11, 16)
    baseline = sh.sweep(scenario, seeds=list(seeds), executor="serial")
    record_sweep(baseline, scenario, db)
    same = [sh.run(scenario, seed=s) for s in seeds]
    worse = [sh.run(scenario, agent=WorseRouter, seed=s) for s in seeds]

    verdict = compare_to_baseline(LATEST, same, history=db)
    assert verdict is not None and not verdict.regressions
    verdict = compare_to_baseline(LATEST, worse, history=db)
    assert verdict is not None
    assert "routing.accuracy" in [d.metric for d in verdict.regressions]
    text = render(verdict)
    assert "A: sweep #1: gate" in text and "B: this run: gate, 5 seeds" in text
    assert "regression(s): routing.accuracy (p=" in text


def scenario_from(text: str):
    from simharness.scenario import scenario_from_yaml

    return scenario_from_yaml(text)

"""The pytest plugin, tested the way a user meets it: in a fresh temporary project (pytester)
with a passing, a failing and a broken scenario, its options, fixtures, JUnit properties,
pytest-xdist and `-p no:simharness`."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

# pytester forgets modules an in-process run imported, and numpy cannot be imported twice in
# one process: import here everything the runs inside the temporary projects use.
import scipy.stats  # noqa: F401

import simharness.api
import simharness.history
import simharness.pytest_plugin.items
import simharness.regression
import simharness.report.html
import simharness.report.plots
import simharness.scaling
import simharness.sweep
import simharness.testing  # noqa: F401

pytest_plugins = ["pytester"]

PASSING = """\
name: passing
seed: 3
duration: 30s
agent: {ref: "simharness.agents.reference:ResilientRouter"}
traffic: [{synthetic: {rate: 1/s}}]
faults: [{name: llm-down, kind: outage, target: llm}]
expect: {tickets.error: "== 0"}
"""
# The same outage met by an agent without a fallback: every ticket errors.
FAILING = PASSING.replace("passing", "failing").replace("ResilientRouter", "NaiveRouter")
BROKEN = "name: broken\nduration: 1h\ntraffic:\n  - synthetic: {rate: fast}\n"
INI = """\
[pytest]
testpaths = tests
simharness_scenarios = scenarios/*.yaml
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    """A project with `testpaths = tests` and its scenarios configured by the ini option."""
    pytester.makefile(".ini", pytest=INI)
    pytester.mkdir("scenarios")
    (pytester.path / "scenarios" / "pass.yaml").write_text(PASSING)
    (pytester.path / "scenarios" / "fail.yaml").write_text(FAILING)
    pytester.mkdir("tests")
    (pytester.path / "tests" / "test_unit.py").write_text("def test_unit():\n    pass\n")
    return pytester


def _junit(path: Path) -> dict[str, dict[str, str]]:
    """testcase name -> its properties."""
    root = ET.parse(path).getroot()
    return {case.get("name", ""): {p.get("name", ""): p.get("value", "")
                                   for p in case.iter("property")}
            for case in root.iter("testcase")}


@pytest.mark.timeout(180)
def test_a_passing_and_a_failing_scenario_with_junit_properties(project: pytest.Pytester):
    result = project.runpytest("--junitxml=junit.xml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=1)
    out = result.stdout.str()
    # the failure says what failed, by how much, on which seed, and how to reproduce it
    result.stdout.fnmatch_lines([
        "*SLO failed on seed 3: tickets.error = * (expected == 0)",
        "*metric*value*bound*",
        "*tickets.error*== 0*",
        "report: *failing-seed3*report.html",
        "reproduce: simharness run scenarios/fail.yaml --seed 3",
    ])
    assert "Traceback" not in out and "simharness/engine.py" not in out
    report = next(line for line in out.splitlines() if line.startswith("report: "))
    assert Path(report.removeprefix("report: ")).is_file()
    # the item id is the file and the scenario name
    result.stdout.fnmatch_lines(["FAILED scenarios/fail.yaml::failing - SLO failed*"])
    props = _junit(project.path / "junit.xml")
    passing, failing = props["passing"], props["failing"]
    assert set(passing) >= {"routing.accuracy", "latency.p95", "cost.per_ticket_usd",
                            "tickets.failed", "pass^1", "seeds", "scenario"}
    assert (passing["pass^1"], failing["pass^1"]) == ("1.0", "0.0")
    assert passing["tickets.failed"] == "0" and int(failing["tickets.failed"]) > 0
    assert float(failing["routing.accuracy"]) < float(passing["routing.accuracy"])


@pytest.mark.timeout(240)
def test_xdist_distributes_items_with_the_same_outcome(project: pytest.Pytester):
    result = project.runpytest_subprocess("-n", "2", "--junitxml=junit.xml",
                                          "-p", "no:cacheprovider", timeout=200)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*reproduce: simharness run scenarios/fail.yaml --seed 3"])
    serial = project.runpytest_subprocess("--junitxml=serial.xml", "-p", "no:cacheprovider",
                                          timeout=200)
    serial.assert_outcomes(passed=2, failed=1)
    parallel, one = _junit(project.path / "junit.xml"), _junit(project.path / "serial.xml")
    for name in ("passing", "failing"):
        assert parallel[name] == one[name]


@pytest.mark.timeout(120)
def test_a_broken_scenario_is_a_failed_item_and_the_rest_still_run(project: pytest.Pytester):
    (project.path / "scenarios" / "broken.yaml").write_text(BROKEN)
    result = project.runpytest("-p", "no:cacheprovider", "scenarios/broken.yaml",
                               "scenarios/pass.yaml")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([
        "*scenarios/broken.yaml:4:23 traffic[[]0[]].synthetic.rate: expected a rate like "
        "'2/s', got 'fast'"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.timeout(60)
def test_a_scenario_without_slos_is_an_error(project: pytest.Pytester):
    (project.path / "scenarios" / "silent.yaml").write_text(
        PASSING.replace("name: passing", "name: silent").split("expect:")[0])
    result = project.runpytest("-p", "no:cacheprovider", "scenarios/silent.yaml")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*scenario 'silent' has no `expect:` SLOs*"])
    assert "Traceback" not in result.stdout.str()


@pytest.mark.timeout(180)
def test_sim_seeds_gates_on_every_seed_and_reports_pass_hat_k(project: pytest.Pytester):
    # a bound that some seeds meet and others do not
    (project.path / "scenarios" / "fail.yaml").unlink()
    (project.path / "scenarios" / "pass.yaml").write_text(
        PASSING.replace('{tickets.error: "== 0"}', '{tickets.total: ">= 30"}'))
    result = project.runpytest("-p", "no:cacheprovider", "--sim-seeds", "4", "-rA",
                               "--junitxml=junit.xml")
    out = result.stdout.str()
    verdicts = re.findall(r"^ +seed (\d+): (pass|FAIL)", out, flags=re.M)
    assert [seed for seed, _ in verdicts] == ["3", "4", "5", "6"]
    passes = sum(verdict == "pass" for _, verdict in verdicts)
    assert 0 < passes < 4, out  # some seeds pass, some fail: the gate needs all four
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines([f"*pass^1 = {passes / 4:.2f}, pass^4 = 0.00*"])
    props = _junit(project.path / "junit.xml")["passing"]
    assert props["seeds"] == "3 4 5 6" and props["pass^4"] == "0.0"


@pytest.mark.timeout(180)
def test_sim_agent_points_every_scenario_at_another_agent(project: pytest.Pytester):
    result = project.runpytest("-p", "no:cacheprovider", "--sim-agent",
                               "simharness.agents.reference:ResilientRouter")
    result.assert_outcomes(passed=3)
    bad = project.runpytest("-p", "no:cacheprovider", "--sim-agent", "nowhere_xyz:agent",
                            "scenarios/pass.yaml")
    bad.assert_outcomes(failed=1)
    bad.stdout.fnmatch_lines(["*cannot import agent module 'nowhere_xyz'*"])
    assert "Traceback" not in bad.stdout.str()


@pytest.mark.timeout(120)
def test_sim_scale_shortens_the_run_and_says_so(project: pytest.Pytester):
    out_dir = project.path / "runs"
    result = project.runpytest("-p", "no:cacheprovider", "--sim-scale", "0.5",
                               "--sim-out", str(out_dir), "scenarios/fail.yaml")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*scaled by --sim-scale 0.5 to 15s (from 30s)*",
                                 f"reproduce: simharness run {out_dir}/failing-seed3/"
                                 "scenario.yaml --seed 3"])
    saved = (out_dir / "failing-seed3" / "scenario.yaml").read_text()
    assert "duration: 15" in saved
    bad = project.runpytest("--sim-scale", "2")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR
    bad.stderr.fnmatch_lines(["*--sim-scale must be above 0 and at most 1, got 2*"])


@pytest.mark.timeout(180)
def test_the_plugin_can_be_turned_off_and_is_opt_in(project: pytest.Pytester):
    off = project.runpytest("-p", "no:simharness", "-p", "no:cacheprovider")
    off.assert_outcomes(passed=1)  # only tests/test_unit.py
    (project.path / "pytest.ini").write_text("[pytest]\ntestpaths = tests\n")
    unconfigured = project.runpytest("-p", "no:cacheprovider")
    unconfigured.assert_outcomes(passed=1)
    only_cli = project.runpytest("-p", "no:cacheprovider", "--sim-scenarios",
                                 "scenarios/pass.yaml")
    only_cli.assert_outcomes(passed=2)


@pytest.mark.timeout(180)
def test_fixtures_and_the_scenario_marker(project: pytest.Pytester):
    (project.path / "tests" / "test_agent.py").write_text('''
import pytest

from simharness.agents.reference import ResilientRouter


@pytest.mark.scenario("../scenarios/pass.yaml", seeds=2)
def test_two_seeds(sim_result):
    assert [r.seed for r in sim_result] == [3, 4]
    assert all(r.metrics["tickets"]["error"] == 0 for r in sim_result)


@pytest.mark.scenario("scenarios/fail.yaml")
def test_slos_are_checked_after_the_body(sim_result):
    assert sim_result.metrics["tickets"]["error"] > 0


@pytest.mark.scenario("scenarios/fail.yaml", check_slos=False, duration="10s")
def test_unless_asked_not_to(sim_result):
    assert sim_result.metrics["tickets"]["total"] <= 15


def test_sim_run_takes_a_dict_and_overrides(sim_run):
    data = {"name": "d", "duration": "20s", "traffic": [{"synthetic": {"rate": "1/s"}}]}
    result = sim_run(data, agent=ResilientRouter(), seed=1, duration="5s")
    assert result.seed == 1 and result.metrics["tickets"]["total"] <= 10
''')
    result = project.runpytest("-p", "no:cacheprovider", "tests/test_agent.py")
    result.assert_outcomes(passed=3, failed=1)
    result.stdout.fnmatch_lines([
        "*test_slos_are_checked_after_the_body*",
        "*SLO failed on seed 3: tickets.error = * (expected == 0)*",
    ])
    assert "Traceback" not in result.stdout.str()


def test_sim_world_calls_one_agent_under_one_fault(sim_world):
    import httpx

    from simharness import Decision

    def agent(payload, ctx):
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", timeout=5, json={
            "model": "small", "messages": [{"role": "user",
                                            "content": payload["messages"][0]["text"]}]})
        reply.raise_for_status()
        return "billing"

    timeout = sim_world(fault={"kind": "timeout", "target": "llm"})
    raised = timeout.call(agent, timeout.ticket(route="billing"))
    assert isinstance(raised, httpx.ReadTimeout)
    assert timeout.record is not None and timeout.record.status == "error"
    clean = sim_world()
    decision = clean.call(agent, clean.ticket(route="technical"))
    assert isinstance(decision, Decision) and decision.routes == ["billing"]
    down = sim_world(fault={"kind": "outage", "target": "llm"})
    assert isinstance(down.call(agent), httpx.ConnectError)


def test_sim_world_the_simulated_llm_knows_a_generated_tickets_route(sim_world):
    import json

    def agent(payload, ctx):
        reply = ctx.http.post(ctx.base_urls["llm"] + "/v1/chat/completions", json={
            "model": "large", "messages": [{"role": "user",
                                            "content": payload["messages"][0]["text"]}]})
        return json.loads(reply.json()["choices"][0]["message"]["content"])["route"]

    world = sim_world(seed=4)
    answers = [world.call(agent, world.ticket(route="refund")).routes for _ in range(3)]
    assert ["refund"] in answers  # the large tier is right most of the time
    made_up = {"id": "X1", "messages": [{"role": "customer", "text": "I want my money back"}]}
    assert world.call(agent, made_up, route="refund").routes[0] in {
        "billing", "technical", "account", "shipping", "refund", "cancellation"}
    assert world.record is not None and world.record.calls == 1


# ------------------------------------------------------------------ --sim-baseline

# A lenient SLO both agents meet, and a half-time outage the naive agent cannot ride out:
# against the resilient agent's runs it is a clear regression, which only the baseline
# gate can catch.
GATE = """\
name: gate
seed: 5
duration: 20s
agent: {ref: "simharness.agents.reference:ResilientRouter"}
traffic: [{synthetic: {rate: 2/s}}]
faults: [{name: llm-down, kind: outage, target: llm, at: 5s, duration: 10s}]
expect: {tickets.total: ">= 1"}
"""
NAIVE = "simharness.agents.reference:NaiveRouter"


@pytest.fixture
def gated(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> pytest.Pytester:
    monkeypatch.setenv("SIMHARNESS_HISTORY", str(pytester.path / "runs.db"))  # its own
    pytester.makefile(".ini", pytest="[pytest]\nsimharness_scenarios = scenarios/*.yaml\n")
    pytester.mkdir("scenarios")
    (pytester.path / "scenarios" / "gate.yaml").write_text(GATE)
    return pytester


@pytest.mark.timeout(240)
def test_sim_baseline_fails_a_significant_regression_with_the_diff_table(
        gated: pytest.Pytester):
    seeds = ("-p", "no:cacheprovider", "--sim-seeds", "3")
    # last release's CI run kept its --sim-out folder: one run directory per seed
    gated.runpytest(*seeds, "--sim-out", "base").assert_outcomes(passed=1)
    same = gated.runpytest(*seeds, "--sim-baseline", "base", "-rA", "--junitxml=same.xml")
    same.assert_outcomes(passed=1)
    same.stdout.fnmatch_lines(["*A: */base (3 runs): gate, 3 seeds*",
                               "*routing.accuracy*no significant change*",
                               "*no significant regression*"])
    assert _junit(gated.path / "same.xml")["gate"]["regressions"] == "0"

    worse = gated.runpytest(*seeds, "--sim-baseline", "base", "--sim-agent", NAIVE,
                            "--junitxml=worse.xml")
    worse.assert_outcomes(failed=1)
    worse.stdout.fnmatch_lines([
        "*regressed against the baseline: * regression(s): *tickets.failure_rate (p=*, "
        "paired t, 3 seeds)*",
        f"scenario 'gate' (scenarios/gate.yaml) with agent {NAIVE}",
        "A: */base (3 runs): gate, 3 seeds",
        "B: this run: gate, 3 seeds",
        "*metric*A*B*delta*test*p*verdict*",
        "*tickets.failure_rate *paired t, 3 seeds*regression*",
    ])
    out = worse.stdout.str()
    assert "Traceback" not in out and "simharness/regression.py" not in out
    assert "SLO failed" not in out  # the SLOs passed: only the comparison failed it
    props = _junit(gated.path / "worse.xml")["gate"]
    assert props["baseline"].endswith("base (3 runs)") and int(props["regressions"]) >= 1

    # tolerances wide enough for the changes let them through
    tolerant = gated.runpytest(*seeds, "--sim-baseline", "base", "--sim-agent", NAIVE, "-rA",
                               "--sim-tolerance", "tickets.failure_rate=0.6",
                               "--sim-tolerance", "cost.per_ticket_usd=1000%")
    tolerant.assert_outcomes(passed=1)
    tolerant.stdout.fnmatch_lines(["*tickets.failure_rate *within tolerance (tolerance 0.6)*"])


@pytest.mark.timeout(240)
def test_sim_baseline_from_the_run_history(gated: pytest.Pytester):
    from simharness.cli import main

    assert main(["sweep", "scenarios/gate.yaml", "--seeds", "3", "--executor", "serial",
                 "--quiet", "--out", "sweep"]) == 0  # recorded as sweep #1
    latest = gated.runpytest("-p", "no:cacheprovider", "--sim-seeds", "3", "--sim-agent",
                             NAIVE, "--sim-baseline", "latest")
    latest.assert_outcomes(failed=1)
    latest.stdout.fnmatch_lines(["A: sweep #1: gate, *3 seeds",
                                 "*tickets.failure_rate *paired t, 3 seeds*regression*"])
    by_id = gated.runpytest("-p", "no:cacheprovider", "--sim-seeds", "3", "-rA",
                            "--sim-baseline", "1")
    by_id.assert_outcomes(passed=1)
    by_id.stdout.fnmatch_lines(["*A: sweep #1: gate*", "*no significant regression*"])


@pytest.mark.timeout(180)
def test_sim_baseline_with_nothing_to_compare_warns_and_passes_on_slos(
        gated: pytest.Pytester):
    (gated.path / "scenarios" / "fail.yaml").write_text(FAILING)
    none = gated.runpytest("-p", "no:cacheprovider", "--sim-baseline", "latest")
    none.assert_outcomes(passed=1, failed=1)
    none.stdout.fnmatch_lines(["*SLO failed on seed 3*",
                               "*NoBaselineWarning: scenario 'gate'*: no baseline for this "
                               "scenario in latest: judged on its SLOs alone*"])
    strict = gated.runpytest("-p", "no:cacheprovider", "--sim-baseline", "latest",
                             "-W", "error::simharness.pytest_plugin.NoBaselineWarning",
                             "scenarios/gate.yaml")
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["FAILED scenarios/gate.yaml::gate - scenario 'gate'*"])
    assert "Traceback" not in strict.stdout.str()

    # one seed on each side: nothing can be tested, and the warning says how to fix it
    gated.runpytest("-p", "no:cacheprovider", "--sim-out", "one", "scenarios/gate.yaml")
    single = gated.runpytest("-p", "no:cacheprovider", "--sim-baseline", "one",
                             "scenarios/gate.yaml")
    single.assert_outcomes(passed=1)
    single.stdout.fnmatch_lines(["*one seed on each side*run --sim-seeds 5*"])


def test_a_baseline_that_cannot_be_read_is_a_usage_error(gated: pytest.Pytester):
    for args, message in (
            (["--sim-baseline", "nowhere"], "*--sim-baseline nowhere: 'nowhere' is neither a "
                                            "run id in the history nor a run or sweep*"),
            (["--sim-baseline", "7"], "*--sim-baseline 7: no run history at *runs.db*"),
            (["--sim-baseline", "latest", "--sim-tolerance", "x"], "*expected METRIC=VALUE*"),
            (["--sim-tolerance", "latency.p95=10%"], "*give --sim-baseline too*")):
        result = gated.runpytest("-p", "no:cacheprovider", *args)
        assert result.ret == pytest.ExitCode.USAGE_ERROR, args
        result.stderr.fnmatch_lines([message])

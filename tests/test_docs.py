"""The README and docs/ say only what is true: every command the README shows is run here
(or, where it is the suite itself or the CI's install and lint steps, shown to be run there),
the README's example outputs are real, and the agents in docs/writing-an-agent.md work."""

from __future__ import annotations

import glob
import os
import re
import shlex
import shutil
from pathlib import Path

import pytest
import yaml
from conftest import REPO

import simharness as sh
from simharness.cli import main
from simharness.report.store import scenario_text

pytest_plugins = ["pytester"]

README = (REPO / "README.md").read_text()
CI_SCRIPT = (REPO / ".ci" / "run").read_text()


def readme_commands() -> list[list[str]]:
    """Every command line in the README's shell blocks (one list per block, run from the
    project folder), then the inline `simharness ...` ones as one more block."""
    blocks: list[list[str]] = []
    for block in re.findall(r"```(?:bash|console)\n(.*?)```", README, re.S):
        commands: list[str] = []
        for line in block.replace("\\\n", " ").splitlines():
            line = line.split(" #")[0].strip().removeprefix("$ ")
            commands += [part.strip() for part in line.split("&&") if part.strip()]
        blocks.append(commands)
    # inline mentions; a bare `simharness run` names a command rather than running one
    blocks.append([c for c in re.findall(r"`(simharness [^`]+)`", README)
                   if len(c.split()) > 2 or c.split()[1] in ("schema", "history", "init")])
    keep = ("simharness", "python", "pip", "ruff", "mypy", "cd ", "npm ", "node ")
    return [[" ".join(c.split()) for c in block if c.startswith(keep)] for block in blocks]


# README placeholders and the few changes that keep this test fast (same flags, less work).
SUBSTITUTIONS = [
    ("my_pkg.agent:Router", "simharness.agents.reference:ResilientRouter"),
    ("my_pkg.agent:route", "simharness.agents.reference:ResilientRouter"),
    ("--scheduler tcp://host:8786", ""),  # no cluster here: the LocalCluster the README names
    ("--seeds 10", "--seeds 2"),
    ("duration=10m", "duration=1m"),
    ("simharness report DIR", "simharness report runs/baseline-seed42"),
    ("simharness diff A B", "simharness diff 1 2"),
    ("simharness traffic export SCENARIO", "simharness traffic export scenarios/baseline.yaml"),
]
#: `python -m pytest` options of the plugin -> the test that runs them in a fresh project.
PLUGIN_TESTS = {
    "--sim-agent": "test_sim_agent_points_every_scenario_at_another_agent",
    "--sim-seeds": "test_sim_seeds_gates_on_every_seed_and_reports_pass_hat_k",
    "--sim-scale": "test_sim_scale_shortens_the_run_and_says_so",
    "-n": "test_xdist_distributes_items_with_the_same_outcome",
    "--junitxml": "test_a_passing_and_a_failing_scenario_with_junit_properties",
    "--sim-out": "test_sim_scale_shortens_the_run_and_says_so",
    "--sim-baseline": "test_sim_baseline_fails_a_significant_regression_with_the_diff_table",
    "--sim-tolerance": "test_sim_baseline_fails_a_significant_regression_with_the_diff_table",
    "scenarios/llm_outage.yaml": "test_the_readme_failure_example_is_real_output",
}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the shipped scenarios at 1/60 of their length (one simulated minute)."""
    (tmp_path / "scenarios").mkdir()
    if (REPO / "scenarios" / "data").is_dir():  # files the replay scenarios read
        shutil.copytree(REPO / "scenarios" / "data", tmp_path / "scenarios" / "data")
    for path in sorted((REPO / "scenarios").glob("*.yaml")):
        short = sh.load_scenario(path).scaled(1 / 60)
        (tmp_path / "scenarios" / path.name).write_text(scenario_text(short))
    mine = re.search(r"For this `scenarios/mine.yaml`:\n\n```yaml\n(.*?)```", README, re.S)
    assert mine is not None
    (tmp_path / "mine.yaml").write_text(mine.group(1))
    monkeypatch.chdir(tmp_path)
    # a history of its own, so `simharness diff 1 2` compares this project's first runs
    monkeypatch.setenv("SIMHARNESS_HISTORY", str(tmp_path / ".simharness" / "runs.db"))
    return tmp_path


@pytest.mark.timeout(900)
def test_every_readme_command_runs(project: Path, capsys):
    plugin_tests = (REPO / "tests" / "test_pytest_plugin.py").read_text() + \
        Path(__file__).read_text()
    ran = []
    commands = [(i, c) for i, block in enumerate(readme_commands()) for c in block]
    block_now = -1
    for block, command in commands:
        if block != block_now:  # each block starts in the project folder
            os.chdir(project)
            block_now = block
        for old, new in SUBSTITUTIONS:
            command = command.replace(old, new)
        words = [w for word in shlex.split(command)  # the shell's expansion of file globs
                 for w in (sorted(glob.glob(word)) if word.startswith("scenarios/*") else [word])]
        if "--scheduler tcp://127.0.0.1:8786" in command:  # needs `dask scheduler`/`worker`
            assert "def test_dask_scheduler_and_worker_started_from_the_command_line" in \
                (REPO / "tests" / "test_sweep.py").read_text()
            continue
        if "http://127.0.0.1:8000/route" in command or words[:2] == ["simharness", "serve"]:
            # real time, against an agent process: the tests start one and serve a world
            agent_tests = (REPO / "tests" / "test_http_agent.py").read_text()
            assert "def test_an_agent_in_another_process_runs_a_served_scenario" in agent_tests
            assert "def test_simharness_serve_serves_the_world_until_its_end" in agent_tests
            continue
        if words[0] in ("npm", "node"):  # the Node agent: installed by CI, run by its test
            assert "npm ci" in CI_SCRIPT, command
            assert all((REPO / w).exists() for w in words if w.startswith("tests/")), command
            assert "def test_a_node_agent_on_the_openai_npm_package" in \
                (REPO / "tests" / "test_http_agent.py").read_text()
            continue
        if words[:2] == ["simharness", "calibrate"]:  # needs a log of real model calls
            assert "def test_" in (REPO / "tests" / "test_calibrate.py").read_text()
            assert "calibrate" in (REPO / "tests" / "test_calibrate.py").read_text()
            continue
        if words[0] == "simharness":
            if words[1] == "init" and words[2:] in ([], ["[DIR]"]):
                words[2:] = [f"kit-{len(ran)}"]  # a new folder, as `init` requires
            if words[1:3] == ["validate", "scenarios/mine.yaml"]:
                continue  # checked against its printed output below
            code = main(words[1:])
            out, err = capsys.readouterr()
            # run exits 1 when an SLO fails, diff --fail-on-regression when a metric regressed
            allowed = {0, 1} if words[1] in ("run", "diff") else {0}
            assert code in allowed, f"{command}: exit {code}\n{out[-2000:]}\n{err[-2000:]}"
            assert "Traceback" not in out + err
            ran.append(command)
        elif words[:3] == ["python", "-m", "pytest"]:
            args = words[3:]
            values = {i + 1 for i, w in enumerate(args)  # option values are not flags
                      if w in ("--sim-baseline", "--sim-tolerance", "--sim-out")}
            flags = [w.split("=")[0] for i, w in enumerate(args) if w not in ("-q",) and
                     i not in values and not w.replace(".", "").isdigit() and
                     not w.startswith(("my_pkg", "runs"))]
            for flag in flags:
                if flag.startswith("simharness.agents"):
                    continue
                assert flag in PLUGIN_TESTS, f"{command}: no test runs {flag}"
                assert f"def {PLUGIN_TESTS[flag]}(" in plugin_tests
            if not flags:
                assert "python -m pytest -q" in CI_SCRIPT  # the suite this test is part of
        elif words[0] == "python" and words[1].startswith("mutation/"):
            # hours of mutation testing, run on demand: the scripts exist and are tested
            assert (REPO / words[1]).is_file(), command
        elif words[0] == "pip":
            assert 'pip install --quiet --disable-pip-version-check -e ".[dev]"' in CI_SCRIPT
        elif words[0] in ("ruff", "mypy"):
            assert f"python -m {command}" in CI_SCRIPT or \
                f"python -m {command} " in CI_SCRIPT, command
        elif words[0] == "cd":
            os.chdir(words[1])
        else:
            pytest.fail(f"README command not covered: {command}")
    assert {c.split()[1] for c in ran} >= {"run", "compare", "validate", "sweep", "schema",
                                           "init", "report"}
    assert (project / "runs" / "baseline-sweep" / "sweep.csv").is_file()


def test_the_readme_validate_example_is_real_output(project: Path, capsys):
    (project / "scenarios" / "mine.yaml").write_text((project / "mine.yaml").read_text())
    assert main(["validate", "scenarios/mine.yaml"]) == 2
    shown = re.search(r"\$ simharness validate scenarios/mine.yaml\n(.*?)```", README, re.S)
    assert shown is not None
    assert capsys.readouterr().out == shown.group(1)


@pytest.mark.timeout(600)
def test_the_readme_failure_example_is_real_output(pytester: pytest.Pytester):
    """The failure text the README shows is what the plugin prints for that command."""
    shown = re.search(r"--sim-out runs`\):\n\n```\n(.*?)```", README, re.S)
    assert shown is not None
    pytester.makefile(".ini", pytest="[pytest]\nsimharness_scenarios = scenarios/*.yaml\n")
    (pytester.path / "scenarios").mkdir()
    (pytester.path / "scenarios" / "llm_outage.yaml").write_text(
        (REPO / "scenarios" / "llm_outage.yaml").read_text())
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "scenarios/llm_outage.yaml", "--sim-agent",
        "simharness.agents.reference:NaiveRouter", "--sim-out", "runs", timeout=500)
    result.assert_outcomes(failed=1)
    out = result.stdout.str().replace(f"{pytester.path}/", "")
    assert shown.group(1) in out


def test_the_ci_recipe_is_a_workflow_with_known_options():
    workflow = yaml.safe_load((REPO / "docs" / "ci" / "simharness.yml").read_text())
    steps = workflow["jobs"]["scenarios"]["steps"]
    runs = " ".join(step.get("run", "") for step in steps)
    assert "python -m pytest" in runs and "--junitxml" in runs
    from simharness.pytest_plugin.options import _OPTIONS

    known = {o.flag for o in _OPTIONS.values()} | {"--sim-scenarios"}
    assert set(re.findall(r"--sim-[a-z]+", runs)) <= known
    upload = next(s for s in steps if "upload-artifact" in s.get("uses", ""))
    assert upload["with"]["path"] in runs  # the reports the tests wrote are kept
    assert (REPO / "docs" / "ci" / "simharness.yml").read_text() in \
        (REPO / "docs" / "ci.md").read_text()


def _doc_examples(name: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", (REPO / "docs" / name).read_text(), re.S)


@pytest.mark.timeout(300)
def test_the_agents_in_writing_an_agent_run(capsys):
    sync, async_class, openai_class = _doc_examples("writing-an-agent.md")[:3]
    scenario = sh.load_scenario(REPO / "scenarios" / "llm_outage.yaml").scaled(1 / 30)
    for code, name in ((sync, "route"), (async_class, "Router"), (openai_class, "OpenAIRouter")):
        namespace: dict = {}
        exec(compile(code, f"writing-an-agent.md:{name}", "exec"), namespace)
        agent = namespace[name]
        result = sh.run(scenario, agent=agent if name == "route" else agent())
        tickets = result.metrics["tickets"]
        assert tickets["total"] > 100 and tickets["ok"] > 0, (name, tickets)
        if name == "route":  # the example's fallback: no exception escapes it
            assert tickets["error"] == 0
            assert result.metrics["routing"]["accuracy@faults"] == 0.0  # all to people

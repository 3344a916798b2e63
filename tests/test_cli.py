"""The `simharness` command line: validate, run, exit codes and the files a run writes."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from simharness import __version__
from simharness.cli import main

FIXTURES = Path(__file__).parent / "fixtures"

TINY = """\
name: tiny
seed: 5
duration: 30s
agent:
  ref: simharness.agents.reference:ResilientRouter
traffic:
  - synthetic:
      rate: 1/s
"""

#: Columns every line of records.jsonl has (the public record format).
RECORD_COLUMNS = {
    "ticket_id", "arrived_at", "started_at", "finished_at", "status", "true_route",
    "pred_route", "true_escalate", "pred_escalate", "tags", "cost_usd", "tokens_in",
    "tokens_out", "calls", "retries", "error",
}

BROKEN = """\
name: broken
duration: 1h
traffic:
  - synthetic:
      rate: fast
faults:
  - {kind: outgae, at: 1m}
"""


def write(tmp_path: Path, text: str, name: str = "scenario.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def run_cli(capsys, *argv: str | Path) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def read_run(out: Path) -> tuple[dict, list[dict], bytes]:
    results = json.loads((out / "results.json").read_text())
    raw = (out / "records.jsonl").read_bytes()
    records = [json.loads(line) for line in raw.decode().splitlines()]
    return results, records, raw


# ------------------------------------------------------------------ validate

def test_validate_accepts_the_contract_fixtures(capsys):
    basic, queue = FIXTURES / "contract_basic.yaml", FIXTURES / "contract_queue.yaml"
    code, out, err = run_cli(capsys, "validate", basic, queue)
    assert code == 0
    assert out.splitlines() == [f"{basic}: ok (contract-basic)", f"{queue}: ok (contract-queue)"]
    assert err == ""


def test_validate_reports_every_error_with_its_line(capsys, tmp_path):
    bad = write(tmp_path, BROKEN, "bad.yaml")
    good = FIXTURES / "contract_queue.yaml"
    code, out, err = run_cli(capsys, "validate", bad, good)
    assert code == 2
    lines = out.splitlines()
    assert lines[0] == f"{bad}:5:13 traffic[0].synthetic.rate: expected a rate like '2/s', " \
                       "got 'fast'"
    assert lines[1].startswith(f"{bad}:7:12 faults[0].kind: unknown fault kind 'outgae' "
                               "(did you mean 'outage'?); known kinds: ")
    assert lines[2:] == [f"{good}: ok (contract-queue)"]
    assert "Traceback" not in out + err


def test_validate_a_missing_file(capsys, tmp_path):
    missing = tmp_path / "nope.yaml"
    code, out, err = run_cli(capsys, "validate", missing, FIXTURES / "contract_basic.yaml")
    assert code == 2
    assert err == f"error: no such scenario file: {missing}\n"
    assert out.endswith("ok (contract-basic)\n")


def test_version(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out == f"simharness {__version__}\n"


# ------------------------------------------------------------------ run

def test_run_writes_results_and_records(capsys, tmp_path):
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "run", write(tmp_path, TINY), "--out", out, "--quiet")
    assert code == 0, stdout + err
    assert f"results written to {out / 'results.json'}" in stdout

    results, records, _ = read_run(out)
    assert (results["scenario"], results["seed"], results["passed"]) == ("tiny", 5, True)
    metrics = results["metrics"]
    total = metrics["tickets"]["total"]
    assert 10 <= total <= 60  # about one ticket a second for 30 simulated seconds
    assert 0.0 <= metrics["routing"]["accuracy"] <= 1.0
    latency = metrics["latency"]
    assert 0.0 < latency["p50"] <= latency["p95"]
    assert latency["mean_wait"] >= 0.0
    cost = metrics["cost"]
    assert cost["total_usd"] > 0
    assert cost["per_ticket_usd"] == pytest.approx(cost["total_usd"] / total)
    assert results["run"]["wall_seconds"] >= 0
    assert results["run"]["versions"]["simharness"] == __version__
    assert "python" in results["run"]["versions"]

    assert len(records) == total
    for row in records:
        assert RECORD_COLUMNS <= set(row)
    assert len({row["ticket_id"] for row in records}) == total
    assert {row["status"] for row in records} <= {"ok", "error", "timeout", "hung",
                                                  "invalid_output"}
    assert sum(row["cost_usd"] for row in records) == pytest.approx(cost["total_usd"])


def test_run_is_reproducible_with_the_same_seed(capsys, tmp_path):
    scenario = write(tmp_path, TINY)
    for name in ("a", "b"):
        assert run_cli(capsys, "run", scenario, "--out", tmp_path / name, "--quiet")[0] == 0
    results_a, _, raw_a = read_run(tmp_path / "a")
    results_b, _, raw_b = read_run(tmp_path / "b")
    assert raw_a == raw_b
    results_a.pop("run")
    results_b.pop("run")
    assert results_a == results_b


def test_seed_option_changes_the_run(capsys, tmp_path):
    scenario = write(tmp_path, TINY)
    assert run_cli(capsys, "run", scenario, "--out", tmp_path / "a", "--quiet")[0] == 0
    assert run_cli(capsys, "run", scenario, "--out", tmp_path / "b", "--quiet",
                   "--seed", "6")[0] == 0
    results_a, _, raw_a = read_run(tmp_path / "a")
    results_b, _, raw_b = read_run(tmp_path / "b")
    assert (results_a["seed"], results_b["seed"]) == (5, 6)
    assert raw_a != raw_b
    assert results_a["metrics"] != results_b["metrics"]


def test_failing_slo_exits_1(capsys, tmp_path):
    text = TINY.replace("ResilientRouter", "NaiveRouter") + """\
faults:
  - {name: large-down, kind: outage, target: llm.large}
expect:
  routing.accuracy: ">= 0.999"
"""
    out = tmp_path / "out"
    code, stdout, err = run_cli(capsys, "run", write(tmp_path, text), "--out", out, "--quiet")
    assert code == 1, stdout + err
    assert "FAIL" in stdout and "routing.accuracy" in stdout
    results, _, _ = read_run(out)
    assert results["passed"] is False
    assert [slo["passed"] for slo in results["slos"]] == [False]


def test_agent_override_with_an_unknown_module(capsys, tmp_path):
    code, out, err = run_cli(capsys, "run", write(tmp_path, TINY), "--out", tmp_path / "out",
                             "--quiet", "--agent", "no_such_agent_module_xyz:route")
    assert code == 2
    assert err.startswith("error: cannot import agent module 'no_such_agent_module_xyz'")
    assert len(err.splitlines()) == 1
    assert "Traceback" not in out + err
    assert not (tmp_path / "out").exists()


def test_run_a_broken_scenario_exits_2_without_a_traceback(capsys, tmp_path):
    bad = write(tmp_path, BROKEN, "bad.yaml")
    code, out, err = run_cli(capsys, "run", bad, "--out", tmp_path / "out", "--quiet")
    assert code == 2
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith(f"error: {bad}:") for line in lines)
    assert "traffic[0].synthetic.rate" in lines[0] and "faults[0].kind" in lines[1]
    assert "Traceback" not in out + err


def test_run_a_missing_file(capsys, tmp_path):
    missing = tmp_path / "nope.yaml"
    code, out, err = run_cli(capsys, "run", missing, "--quiet")
    assert code == 2
    assert err == f"error: no such scenario file: {missing}\n"


# ------------------------------------------------------------------ the installed command

def test_console_script(tmp_path):
    script = shutil.which("simharness", path=str(Path(sys.executable).parent)) \
        or shutil.which("simharness")
    if script is None:
        pytest.skip("the simharness console script is not installed")
    bad = write(tmp_path, BROKEN, "bad.yaml")
    good = FIXTURES / "contract_basic.yaml"
    proc = subprocess.run([script, "validate", str(good), str(bad)], capture_output=True,
                          text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2
    lines = proc.stdout.splitlines()
    assert lines[0] == f"{good}: ok (contract-basic)"
    assert lines[1].startswith(f"{bad}:5:13 traffic[0].synthetic.rate: ")
    assert lines[2].startswith(f"{bad}:7:12 faults[0].kind: unknown fault kind 'outgae'")
    assert "Traceback" not in proc.stdout + proc.stderr
    version = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert (version.returncode, version.stdout) == (0, f"simharness {__version__}\n")


def test_run_warns_when_the_agent_returns_labels_that_are_not_routes(tmp_path, capsys):
    scenario = tmp_path / "raw.yaml"
    scenario.write_text(
        "name: raw\nduration: 10s\nagent: {ref: raw_agent:route}\n"
        "traffic: [{synthetic: {rate: 1/s, routes: [billing, account]}}]\n")
    (tmp_path / "raw_agent.py").write_text(
        "def route(payload):\n    return '{\"route\": [\"billing\"], \"confidence\": 0.9}'\n")
    import os
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        code = main(["run", str(scenario), "--out", str(tmp_path / "out"), "--quiet"])
    finally:
        os.chdir(old)
    out = capsys.readouterr().out
    assert code == 0
    assert "got labels that are not routes" in out and "confidence" in out


def test_run_refuses_an_unwritable_out_dir_before_running(tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    code = main(["run", str(FIXTURES / "contract_queue.yaml"), "--out", str(blocker / "x"),
                 "--quiet"])
    captured = capsys.readouterr()
    assert code == 2
    assert "cannot write results to" in captured.err
    assert "tickets" not in captured.out  # no run happened

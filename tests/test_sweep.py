"""Sweeps: grid x seeds, statistics across seeds, executors that agree, the CLI command."""

from __future__ import annotations

import csv
import json
import math
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from conftest import make_scenario

from simharness import AgentError, ScenarioError
from simharness.cli import main
from simharness.report.sweep_plots import save_png
from simharness.sweep import (
    SweepError,
    SweepResult,
    flatten_metrics,
    mean_ci,
    parse_grid_arg,
    parse_value,
    pass_hat_k,
    run_point,
    sweep,
    t_quantile_975,
)

random_uniform = random.uniform
AGENT = "simharness.agents.reference:ResilientRouter"
RATE = "traffic[0].synthetic.rate"
#: The executor-agreement scenario: 5 simulated minutes at 1/s and 2/s, 2 seeds each. The
#: 500s make the agent retry with jittered backoff (tenacity draws from `random`).
SMALL = make_scenario(duration="5m", agent={"ref": AGENT, "workers": 8},
                      expect={"routing.accuracy": ">= 0.9"},
                      faults=[{"kind": "http_error", "target": "llm", "probability": 0.2}])
SMALL_GRID = {RATE: ["1/s", "2/s"]}


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without wall time, NaN as None (NaN != NaN would hide real equality)."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and math.isnan(value):
            return None
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        return value
    return [clean({k: v for k, v in row.items() if k != "wall_seconds"}) for row in rows]


@pytest.fixture(scope="module")
def serial_small() -> SweepResult:
    return sweep(SMALL, SMALL_GRID, 2, executor="serial")


@pytest.fixture(scope="module")
def process_small() -> SweepResult:
    return sweep(SMALL, SMALL_GRID, 2, executor="process", workers=2)


# --------------------------------------------------------------------------- statistics

def test_mean_ci_matches_a_hand_computation():
    # x = 1, 2, 3, 4: mean 2.5, s^2 = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3,
    # t(0.975, 3) = 3.182446305, half width = 3.182446305 * sqrt(5/3) / sqrt(4) = 2.054260
    stats = mean_ci([1.0, 2.0, 3.0, 4.0])
    assert stats["n"] == 4
    assert stats["mean"] == 2.5
    assert stats["std"] == pytest.approx(1.2909944487)
    assert stats["half_width"] == pytest.approx(2.0542602, abs=1e-6)
    assert (stats["ci_low"], stats["ci_high"]) == pytest.approx((0.4457398, 4.5542602), abs=1e-6)


def test_mean_ci_skips_nan_keeps_inf_and_has_no_interval_for_one_value():
    stats = mean_ci([2.0, float("nan")])
    assert stats["n"] == 1 and stats["mean"] == 2.0
    assert math.isnan(stats["half_width"])
    assert mean_ci([])["n"] == 0
    assert mean_ci([3.0, 3.0, 3.0])["half_width"] == 0.0
    never = mean_ci([12.0, math.inf])  # one run never recovered: the mean must say so
    assert never["mean"] == math.inf and math.isnan(never["half_width"])


def test_t_quantile_matches_known_values_and_the_normal_limit():
    assert t_quantile_975(1) == pytest.approx(12.7062047)
    assert t_quantile_975(9) == pytest.approx(2.2621572)
    assert t_quantile_975(30) == pytest.approx(2.0422725)
    assert t_quantile_975(60) == pytest.approx(2.0002978, abs=1e-6)  # past the table
    assert t_quantile_975(10**7) == pytest.approx(1.9599640, abs=1e-6)
    with pytest.raises(ValueError):
        t_quantile_975(0)


def test_t_quantile_agrees_with_scipy():
    stats = pytest.importorskip("scipy.stats")
    for df in [*range(1, 61), 100, 250, 1000]:
        assert t_quantile_975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-6)


def test_pass_hat_k_is_taus_estimator():
    assert pass_hat_k(5, 3) == {1: 3 / 5, 2: 3 / 10, 3: 1 / 10, 4: 0.0, 5: 0.0}
    assert pass_hat_k(4, 4) == {1: 1.0, 2: 1.0, 3: 1.0, 4: 1.0}
    assert pass_hat_k(3, 0) == {1: 0.0, 2: 0.0, 3: 0.0}
    for n in range(1, 9):
        for c in range(n + 1):
            hat = pass_hat_k(n, c)
            assert hat[1] == pytest.approx(c / n)
            assert hat == {k: math.comb(c, k) / math.comb(n, k) for k in range(1, n + 1)}


def constructed(passes: list[list[bool]]) -> SweepResult:
    """A SweepResult from made-up rows: one grid point per list, accuracy = seed / 10."""
    grid = {"agent.params.confidence_threshold": [0.5 + i / 10 for i in range(len(passes))]}
    points = [{"agent.params.confidence_threshold": v} for v in grid[next(iter(grid))]]
    rows = [{"point": p, "grid": points[p], "seed": s, "passed": ok, "slos": {"x": ok},
             "metrics": {"routing.accuracy": s / 10, "cost.per_ticket_usd": 0.001},
             "wall_seconds": 0.0}
            for p, flags in enumerate(passes) for s, ok in reversed(list(enumerate(flags)))]
    numeric = [{k: float(v) for k, v in point.items()} for point in points]
    return SweepResult("made-up", grid, list(range(len(passes[0]))), points, numeric, rows)


def test_summary_has_pass_hat_k_and_ci_per_grid_point():
    result = constructed([[True, True, False, True, False], [True] * 5])
    first, second = result.summary
    assert first["n"] == 5 and first["passed"] == 3
    assert first["pass_hat_k"] == pass_hat_k(5, 3)
    assert second["pass_hat_k"][5] == 1.0
    acc = first["metrics"]["routing.accuracy"]  # 0.0 .. 0.4: mean 0.2, s = sqrt(0.025)
    assert acc["mean"] == pytest.approx(0.2)
    assert acc["half_width"] == pytest.approx(2.776445105 * math.sqrt(0.025) / math.sqrt(5))
    assert [(r["point"], r["seed"]) for r in result.rows] == [(p, s) for p in (0, 1)
                                                             for s in range(5)]
    assert result.pass_hat_k[0] == first["pass_hat_k"]


# --------------------------------------------------------------------------- grid and rows

def test_cli_values_parse_like_the_scenario_file():
    assert parse_value("0.1") == 0.1
    assert parse_value("3") == 3
    assert parse_value("2/s") == "2/s"
    assert parse_value("10m") == "10m"
    assert parse_grid_arg("faults[0].probability=0,0.1, 0.3") == (
        "faults[0].probability", [0, 0.1, 0.3])
    for bad in ("traffic[0].synthetic.rate", "=1,2", "x=1,,2", "x="):
        with pytest.raises(SweepError):
            parse_grid_arg(bad)


def test_flatten_keeps_numeric_leaves_only():
    metrics = {"routing": {"accuracy": 0.9, "confusion": {"a": {"b": 1}}, "labels": ["a"]},
               "tickets": {"total": 7, "ok": True}, "name": "x", "faults": {"llm.down": 3},
               "recovery": {"down": {"time_to_recover": None}}}
    flat = flatten_metrics(metrics)
    assert math.isnan(flat.pop("recovery.down.time_to_recover"))
    assert flat == {"routing.accuracy": 0.9, "tickets.total": 7, "faults.llm.down": 3}


def test_grid_times_seeds_gives_one_sorted_row_per_point_and_seed():
    scenario = make_scenario(duration="1m", agent={"ref": AGENT},
                             expect={"tickets.error": "== 0"})
    calls: list[tuple[int, int]] = []
    result = sweep(scenario, {RATE: ["1/s", "2/s"], "agent.params.confidence_threshold":
                              [0.5, 0.9]}, 3, executor="serial",
                   progress=lambda done, total: calls.append((done, total)))
    assert result.seeds == [1, 2, 3]  # the scenario's seed + 0, 1, 2
    assert len(result.points) == 4 and len(result.rows) == 12
    assert [(r["point"], r["seed"]) for r in result.rows] == [
        (p, s) for p in range(4) for s in (1, 2, 3)]
    assert result.rows[3]["grid"] == {RATE: "1/s", "agent.params.confidence_threshold": 0.9}
    assert result.numeric[2] == {RATE: 2.0, "agent.params.confidence_threshold": 0.5}
    row = result.rows[0]
    assert set(row) == {"point", "grid", "seed", "passed", "slos", "metrics", "wall_seconds"}
    assert row["slos"] == {"tickets.error": row["passed"]}
    assert "routing.accuracy" in row["metrics"] and "latency.p95" in row["metrics"]
    assert calls[0] == (0, 12) and calls[-1] == (12, 12) and len(calls) == 13
    explicit = sweep(scenario, {}, [7, 3], executor="serial")
    assert [r["seed"] for r in explicit.rows] == [3, 7] and explicit.seeds == [7, 3]


def test_every_point_is_validated_before_any_run():
    calls: list[int] = []
    with pytest.raises(ScenarioError) as info:
        sweep(SMALL, {RATE: ["1/s", "fast"], "traffic[0].synthetic.ratee": [1]}, 2,
              executor="serial", progress=lambda done, total: calls.append(done))
    text = str(info.value)
    assert "set by override 'traffic[0].synthetic.rate'" in text and "'fast'" in text
    assert "traffic[0].synthetic.ratee" in text
    assert calls == []


def test_bad_sweep_arguments_are_refused():
    with pytest.raises(AgentError, match="executor='serial'"):
        sweep(SMALL, SMALL_GRID, 1, agent=lambda payload: "billing", executor="process")
    with pytest.raises(SweepError):
        sweep(SMALL, SMALL_GRID, 0, executor="serial")
    with pytest.raises(SweepError):
        sweep(SMALL, {RATE: []}, 1, executor="serial")
    with pytest.raises(SweepError):
        sweep(SMALL, {"seed": [1, 2]}, 1, executor="serial")
    with pytest.raises(AgentError, match="no_such_module"):
        sweep(SMALL, SMALL_GRID, 1, agent="no_such_module:x", executor="serial")


def test_agent_object_runs_with_the_serial_executor():
    result = sweep(make_scenario(duration="30s"), {}, 1, agent=lambda payload: "billing",
                   executor="serial")
    assert result.rows[0]["metrics"]["tickets.total"] > 0


# --------------------------------------------------------------------------- executors

def test_jittered_retries_repeat_exactly_in_a_sweep_run():
    first = run_point(SMALL, "<dict>", {}, 3)
    again = run_point(SMALL, "<dict>", {}, 3)
    assert first["metrics"]["calls.retries"] > 0
    assert comparable([first]) == comparable([again])
    assert random.uniform is random_uniform  # restored after the run


def test_process_pool_gives_the_same_rows_as_serial(serial_small, process_small):
    assert comparable(process_small.rows) == comparable(serial_small.rows)
    assert len(process_small.rows) == 4
    assert process_small.rows[0]["metrics"] != process_small.rows[1]["metrics"]  # seeds differ


@pytest.mark.timeout(240)
def test_dask_local_cluster_gives_the_same_numbers_as_the_process_pool(process_small):
    pytest.importorskip("distributed")
    result = sweep(SMALL, SMALL_GRID, 2, executor="dask", workers=2)
    assert comparable(result.rows) == comparable(process_small.rows)
    assert result.to_dict()["summary"] == process_small.to_dict()["summary"]


def _dask_command() -> Path:
    command = Path(sys.executable).with_name("dask")
    if not command.exists():
        pytest.skip(f"NOT CHECKED: no `dask` command next to {sys.executable} "
                    "(pip install 'simharness[dask]')")
    return command


def _wait_for_a_worker(address: str, log: Path) -> None:
    """Until `dask worker` has joined the scheduler (a sweep waits for workers as long as
    it takes); a worker that never joins is the machine's problem, said with its log."""
    from distributed import Client

    with Client(address, timeout=60) as client:
        try:
            client.wait_for_workers(1, timeout=90)
        except TimeoutError:
            pytest.skip("NOT CHECKED: `dask worker` did not join the scheduler within 90 s: "
                        + log.read_text()[-1500:])


@pytest.mark.timeout(240)
def test_dask_scheduler_and_worker_started_from_the_command_line_give_the_same_rows(
        serial_small, tmp_path):
    """The documented real-cluster setup, on loopback: `dask scheduler` and `dask worker`
    as separate processes, the sweep submitted to the scheduler's address."""
    pytest.importorskip("distributed")
    dask = _dask_command()
    address_file = tmp_path / "scheduler.json"
    logs = (tmp_path / "scheduler.log").open("w"), (tmp_path / "worker.log").open("w")
    scheduler = subprocess.Popen(
        [str(dask), "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(address_file)], stdout=logs[0], stderr=subprocess.STDOUT)
    worker = None
    try:
        deadline = time.monotonic() + 60
        while not address_file.exists() and scheduler.poll() is None \
                and time.monotonic() < deadline:
            time.sleep(0.2)
        if not address_file.exists():
            pytest.skip("NOT CHECKED: `dask scheduler` did not start within 60 s: "
                        + (tmp_path / "scheduler.log").read_text()[-500:])
        address = json.loads(address_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        worker = subprocess.Popen(
            [str(dask), "worker", address, "--nthreads", "1", "--nworkers", "1",
             "--no-dashboard"], stdout=logs[1], stderr=subprocess.STDOUT)
        _wait_for_a_worker(address, tmp_path / "worker.log")
        result = sweep(SMALL, SMALL_GRID, 2, executor="dask", scheduler=address)
        assert comparable(result.rows) == comparable(serial_small.rows)
    finally:
        for process in (worker, scheduler):
            if process is not None:
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
        for log in logs:
            log.close()


# --------------------------------------------------------------------------- files and plots

def test_csv_json_and_plots(tmp_path, serial_small):
    files = serial_small.save(tmp_path)
    assert [f.name for f in files] == ["sweep.csv", "sweep.json",
                                       "sweep-traffic-0-synthetic-rate.png"]
    with (tmp_path / "sweep.csv").open() as fh:
        table = list(csv.reader(fh))
    header = table[0]
    metrics = header[3:header.index("slo:routing.accuracy")]
    assert header[:3] == [RATE, "seed", "passed"] and metrics == sorted(metrics)
    assert header[-1] == "wall_seconds" and len(table) == 5
    assert [r[:2] for r in table[1:]] == [["1/s", "1"], ["1/s", "2"], ["2/s", "1"], ["2/s", "2"]]
    data = json.loads((tmp_path / "sweep.json").read_text())
    assert set(data) >= {"grid", "seeds", "rows", "summary", "pass_hat_k"}
    assert data["pass_hat_k"][0]["pass_hat_k"].keys() == {"1", "2"}
    first = save_png(serial_small.plot.cost_vs_load(), tmp_path / "a.png").read_bytes()
    again = save_png(serial_small.plot.cost_vs_load(), tmp_path / "b.png").read_bytes()
    assert first.startswith(b"\x89PNG") and first == again and b"Matplotlib" not in first
    serial_small.plot.curve(x=RATE, y="latency.p95")
    serial_small.plot.accuracy_vs_fault_rate()  # a 1-D grid: its only path
    with pytest.raises(ValueError, match="no metric"):
        serial_small.plot.curve(x=RATE, y="routing.acuracy")


# --------------------------------------------------------------------------- command line

TINY = """\
name: tiny
seed: 5
duration: 1m
agent:
  ref: simharness.agents.reference:ResilientRouter
traffic:
  - synthetic:
      rate: 1/s
expect:
  routing.accuracy: ">= 0.8"
"""


def test_cli_sweep_writes_csv_json_and_a_curve(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    out = tmp_path / "out"
    code = main(["sweep", str(scenario), "--grid", f"{RATE}=1/s,2/s,4/s", "--seeds", "3",
                 "--out", str(out), "--workers", "2"])
    stdout, stderr = capsys.readouterr()
    assert code == 0, stderr
    with (out / "sweep.csv").open() as fh:
        table = list(csv.DictReader(fh))
    assert [(r[RATE], r["seed"]) for r in table] == [
        (rate, str(seed)) for rate in ("1/s", "2/s", "4/s") for seed in (5, 6, 7)]
    assert list(table[0])[:3] == [RATE, "seed", "passed"]
    assert json.loads((out / "sweep.json").read_text())["seeds"] == [5, 6, 7]
    assert Path(out / "sweep-traffic-0-synthetic-rate.png").read_bytes().startswith(b"\x89PNG")
    assert "sweep.csv" in stdout and "pass^3" in stdout


def test_cli_sweep_bad_grid_path_exits_2_naming_it(tmp_path, capsys):
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(TINY)
    code = main(["sweep", str(scenario), "--grid", "traffic[0].synthetic.rat=1/s,2/s",
                 "--out", str(tmp_path / "out"), "--executor", "serial"])
    _, stderr = capsys.readouterr()
    assert code == 2
    assert stderr.startswith("error: ") and "traffic[0].synthetic.rat" in stderr
    assert "Traceback" not in stderr and not (tmp_path / "out").exists()
    assert main(["sweep", str(scenario), "--grid", "nonsense"]) == 2
    assert "expected PATH=V1,V2" in capsys.readouterr().err

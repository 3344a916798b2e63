"""The run history: what `run` and `sweep` record, where, how it is listed, and that
concurrent writers (real processes) leave it whole."""

from __future__ import annotations

import json
import multiprocessing
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from simharness.cli import main
from simharness.history import (
    DEFAULT_PATH,
    ENV_VAR,
    History,
    HistoryError,
    RunEntry,
    Sample,
    agent_version,
    history_path,
    scenario_hash,
)
from simharness.scenario import scenario_from_yaml

SCENARIO = """\
name: hist
seed: 3
duration: 30s
agent:
  ref: simharness.agents.reference:ResilientRouter
traffic:
  - synthetic:
      rate: 2/s
expect:
  routing.accuracy: ">= 0.5"
"""


def _write(tmp_path: Path, text: str = SCENARIO, name: str = "hist.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _entry(i: int, scenario: str = "s") -> RunEntry:
    return RunEntry(kind="run", scenario=scenario, scenario_hash="abc", seeds=[i],
                    agent="m:a", agent_version="git:1", passed=True,
                    metrics={"routing.accuracy": 0.9}, run_dir=None,
                    samples=[Sample(seed=i, metrics={"routing.accuracy": 0.9, "x": i})])


# ------------------------------------------------------------------ where it lives

def test_history_path_follows_flag_then_environment_then_default(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV_VAR, raising=False)
    assert history_path() == DEFAULT_PATH
    monkeypatch.setenv(ENV_VAR, str(tmp_path / "env.db"))
    assert history_path() == tmp_path / "env.db"
    assert history_path(tmp_path / "flag.db") == tmp_path / "flag.db"
    assert history_path(tmp_path / "flag.db", disabled=True) is None
    monkeypatch.setenv(ENV_VAR, "off")
    assert history_path() is None


def test_the_test_suite_never_records_into_the_repository():
    recorded_in = Path(os.environ[ENV_VAR]).resolve()
    repo = Path(__file__).resolve().parents[1]
    assert not recorded_in.is_relative_to(repo)


# ------------------------------------------------------------------ what run and sweep record

def test_run_is_recorded_with_provenance_and_every_metric(tmp_path, capsys, monkeypatch):
    db = tmp_path / "h" / "runs.db"
    scenario = _write(tmp_path)
    code = main(["run", str(scenario), "--quiet", "--out", str(tmp_path / "out"),
                 "--history", str(db)])
    out = capsys.readouterr().out
    assert code == 0
    assert f"recorded as run #1 in {db}" in out
    entry = History(db).get(1)
    results = json.loads((tmp_path / "out" / "results.json").read_text())
    assert entry.kind == "run" and entry.complete and entry.passed is True
    assert entry.scenario == "hist" and entry.seeds == [3]
    assert entry.scenario_hash == scenario_hash(scenario_from_yaml(SCENARIO))
    assert entry.agent == "simharness.agents.reference:ResilientRouter"
    assert entry.agent_version and entry.agent_version.startswith(("git:", "simharness=="))
    assert entry.run_dir == str((tmp_path / "out").absolute())
    assert entry.tickets == results["metrics"]["tickets"]["total"]
    assert entry.metrics["routing.accuracy"] == results["metrics"]["routing"]["accuracy"]
    (sample,) = entry.samples
    assert sample.metrics["latency.p95"] == results["metrics"]["latency"]["p95"]
    assert sample.metrics["cost.per_ticket_usd"] == results["metrics"]["cost"]["per_ticket_usd"]
    # the default folder keeps itself out of git, like .pytest_cache
    assert not (db.parent / ".gitignore").exists()  # not the default folder name


def test_no_history_and_env_off_record_nothing(tmp_path, capsys, monkeypatch):
    db = tmp_path / "runs.db"
    monkeypatch.setenv(ENV_VAR, str(db))
    scenario = _write(tmp_path)
    assert main(["run", str(scenario), "--quiet", "--out", str(tmp_path / "a"),
                 "--no-history"]) == 0
    assert not db.exists()
    monkeypatch.setenv(ENV_VAR, "off")
    assert main(["run", str(scenario), "--quiet", "--out", str(tmp_path / "b")]) == 0
    assert "recorded as" not in capsys.readouterr().out
    assert not db.exists()


def test_default_location_is_dot_simharness_with_its_own_gitignore(tmp_path, capsys,
                                                                   monkeypatch):
    monkeypatch.delenv(ENV_VAR)
    monkeypatch.chdir(tmp_path)
    scenario = _write(tmp_path)
    assert main(["run", str(scenario), "--quiet"]) == 0
    assert "recorded as run #1 in .simharness/runs.db" in capsys.readouterr().out
    assert (tmp_path / ".simharness" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_an_unwritable_history_warns_and_keeps_the_run(tmp_path, capsys):
    not_a_db = tmp_path / "runs.db"
    not_a_db.write_text("this is not a database\n" * 100)
    scenario = _write(tmp_path)
    code = main(["run", str(scenario), "--quiet", "--out", str(tmp_path / "out"),
                 "--history", str(not_a_db)])
    captured = capsys.readouterr()
    assert code == 0
    assert "warning: the run was not recorded in the history" in captured.err
    assert (tmp_path / "out" / "results.json").is_file()


def test_sweep_is_one_entry_with_a_sample_per_point_and_seed(tmp_path, capsys):
    db = tmp_path / "runs.db"
    scenario = _write(tmp_path)
    code = main(["sweep", str(scenario), "--seeds", "2", "--grid",
                 "traffic[0].synthetic.rate=1/s,2/s", "--executor", "serial", "--quiet",
                 "--out", str(tmp_path / "sw"), "--history", str(db)])
    assert code == 0
    assert f"recorded as sweep #1 in {db}" in capsys.readouterr().out
    entry = History(db).get(1)
    rows = json.loads((tmp_path / "sw" / "sweep.json").read_text())["rows"]
    assert entry.kind == "sweep" and entry.seeds == [3, 4]
    assert entry.grid == {"traffic[0].synthetic.rate": ["1/s", "2/s"]}
    assert [(s.point, s.seed) for s in entry.samples] == [(0, 3), (0, 4), (1, 3), (1, 4)]
    assert {s.label for s in entry.samples} == {"traffic[0].synthetic.rate=1/s",
                                                "traffic[0].synthetic.rate=2/s"}
    assert entry.tickets == sum(r["metrics"]["tickets.total"] for r in rows)
    mean = sum(r["metrics"]["routing.accuracy"] for r in rows) / 4
    assert entry.metrics["routing.accuracy"] == pytest.approx(mean)


# ------------------------------------------------------------------ provenance

def test_scenario_hash_ignores_seed_agent_and_comments_but_not_content():
    base = scenario_hash(scenario_from_yaml(SCENARIO))
    assert scenario_hash(scenario_from_yaml("# a comment\n" + SCENARIO.replace(
        "seed: 3", "seed: 99").replace("ResilientRouter", "NaiveRouter"))) == base
    assert scenario_hash(scenario_from_yaml(SCENARIO.replace("2/s", "3/s"))) != base
    assert scenario_hash(scenario_from_yaml(SCENARIO.replace(">= 0.5", ">= 0.6"))) != base


def test_agent_version_is_git_describe_of_its_repository(tmp_path, monkeypatch):
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    repo = tmp_path / "repo"
    repo.mkdir()
    (repo / "git_versioned_agent.py").write_text("def route(payload):\n    return 'billing'\n")
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "agent"], cwd=repo, check=True)
    subprocess.run([*git, "tag", "v1.2"], cwd=repo, check=True)
    monkeypatch.syspath_prepend(str(repo))
    assert agent_version("git_versioned_agent:route") == "git:v1.2"
    (repo / "git_versioned_agent.py").write_text("def route(payload):\n    return 'refund'\n")
    from simharness.history import _version_of

    _version_of.cache_clear()
    assert agent_version("git_versioned_agent:route") == "git:v1.2-dirty"


def test_agent_version_outside_git_is_a_hash_of_the_module(tmp_path, monkeypatch):
    (tmp_path / "unversioned_agent.py").write_text("def route(payload):\n    return 'billing'\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    version = agent_version("unversioned_agent:route")
    assert version is not None and version.startswith("file:") and len(version) == 17
    assert agent_version("no_such_module_anywhere:route") is None


# ------------------------------------------------------------------ listing

def test_history_lists_runs_as_a_table_filtered_and_limited(tmp_path, capsys):
    db = tmp_path / "runs.db"
    history = History(db)
    for i in range(5):
        history.record(_entry(i, scenario="alpha" if i % 2 == 0 else "beta"))
    code = main(["history", "--history", str(db)])
    out = capsys.readouterr().out
    assert code == 0
    lines = [ln for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert [ln.split()[0] for ln in lines] == ["1", "2", "3", "4", "5"]
    main(["history", "--history", str(db), "--scenario", "alpha", "--last", "2"])
    out = capsys.readouterr().out
    ids = [ln.split()[0] for ln in out.splitlines() if ln.strip()[:1].isdigit()]
    assert ids == ["3", "5"]
    main(["history", "--history", str(db), "--json", "--last", "1"])
    (row,) = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    assert row["id"] == 5 and row["metrics"] == {"routing.accuracy": 0.9}


def test_history_without_a_database_is_a_clear_error(tmp_path, capsys):
    assert main(["history", "--history", str(tmp_path / "none.db")]) == 2
    err = capsys.readouterr().err
    assert "no run history at" in err and "Traceback" not in err
    history = History(tmp_path / "runs.db")
    history.record(_entry(0))
    with pytest.raises(HistoryError, match=r"no run #2 .*ids go up to 1"):
        history.get(2)


# ------------------------------------------------------------------ concurrent writers

def _writer(db: str, worker: int, count: int, barrier) -> None:
    barrier.wait()
    history = History(db)
    for i in range(count):
        history.record(_entry(worker * 1000 + i, scenario=f"w{worker}"))


@pytest.mark.timeout(120)
def test_concurrent_processes_writing_at_once_leave_the_history_whole(tmp_path):
    db = str(tmp_path / "runs.db")  # created by the racing writers themselves
    ctx = multiprocessing.get_context("spawn")
    workers, count = 4, 25
    barrier = ctx.Barrier(workers)
    procs = [ctx.Process(target=_writer, args=(db, w, count, barrier)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(100)
    assert [p.exitcode for p in procs] == [0] * workers
    entries = History(db).runs(with_samples=True)
    assert [e.id for e in entries] == list(range(1, workers * count + 1))
    assert all(len(e.samples) == 1 and e.samples[0].seed == e.seeds[0] for e in entries)
    for w in range(workers):
        seeds = [e.seeds[0] for e in entries if e.scenario == f"w{w}"]
        assert seeds == [w * 1000 + i for i in range(count)]  # each writer's own order
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.timeout(240)
def test_two_process_sweeps_running_at_once_both_land(tmp_path):
    db = tmp_path / "runs.db"
    scenario = _write(tmp_path)
    env = {**os.environ, ENV_VAR: str(db)}
    script = Path(sys.executable).parent / "simharness"
    procs = [subprocess.Popen([str(script), "sweep", str(scenario), "--seeds", "2",
                               "--workers", "2", "--quiet", "--out", str(tmp_path / f"s{i}")],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(2)]
    outputs = [p.communicate(timeout=200) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    entries = History(db).runs(with_samples=True)
    assert sorted(e.run_dir for e in entries) == [str(tmp_path / "s0"), str(tmp_path / "s1")]
    assert all([s.seed for s in e.samples] == [3, 4] for e in entries)
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)

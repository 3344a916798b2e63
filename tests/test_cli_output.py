"""Command output in CI logs and pipes: full-width tables, plain progress lines, SLO lines
that never wrap mid-command; no silent overwrite; helpful import errors."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from simharness.cli import main
from simharness.report import console as console_mod
from simharness.report.console import plain_progress

TINY = """\
name: tiny
seed: 5
duration: 30s
agent:
  ref: simharness.agents.reference:ResilientRouter
traffic:
  - synthetic:
      rate: 1/s
expect:
  routing.accuracy: ">= 0.999"
"""


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(TINY)
    return path


def test_piped_compare_prints_the_whole_table(tiny: Path):
    """Off a terminal rich used 80 columns and cut the cost column."""
    done = subprocess.run([sys.executable, "-m", "simharness.cli", "compare", str(tiny)],
                          capture_output=True, text=True, timeout=120, env=_no_columns())
    assert done.returncode == 0, done.stderr
    header = next(line for line in done.stdout.splitlines() if "scenario" in line)
    for name in ("accuracy in faults", "cost/ticket (USD)", "p95 latency (s)", "SLOs"):
        assert name in header
    rows = [line for line in done.stdout.splitlines() if "Router" in line and "tiny" in line]
    assert len(rows) == 4  # two progress lines, two table rows
    assert all("…" not in line for line in done.stdout.splitlines())
    assert "\x1b[" not in done.stdout  # no colour codes in a log


def _no_columns() -> dict[str, str]:
    import os

    env = dict(os.environ)
    env.pop("COLUMNS", None)
    return env


def test_slo_lines_never_wrap_mid_command(tiny: Path, tmp_path: Path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "60")
    code = main(["run", str(tiny), "--quiet", "--out", str(tmp_path / "out")])
    lines = capsys.readouterr().out.splitlines()
    assert code == 1
    failing = [line for line in lines if line.startswith("FAIL ")]
    assert failing and all("reproduce with --seed 5 --agent " in line for line in failing)
    reproduce = [line for line in lines if line.startswith("reproduce: ")]
    assert reproduce == [f"reproduce: simharness run {tiny} --seed 5 --agent "
                         "simharness.agents.reference:ResilientRouter"]


def test_progress_off_a_terminal_is_a_plain_line_now_and_then(tiny: Path, tmp_path: Path,
                                                              capsys, monkeypatch):
    monkeypatch.setattr(console_mod, "PLAIN_PROGRESS_SECONDS", 0.0)
    assert main(["run", str(tiny), "--out", str(tmp_path / "out")]) == 1
    lines = capsys.readouterr().out.splitlines()
    progress = [line for line in lines if line.startswith("progress: ")]
    assert progress and all("simulated" in line and "tickets done" in line
                            for line in progress)
    assert "100%" in progress[-1]


def test_plain_progress_waits_its_interval():
    lines: list[str] = []

    class Sink:
        def write(self, text: str) -> None:
            lines.append(text)

        def flush(self) -> None:
            pass

    update = plain_progress(every=3600.0, stream=Sink())
    for t in range(100):
        update(float(t), 100.0, t)
    assert lines == []
    update = plain_progress(every=0.0, stream=Sink())
    update(50.0, 100.0, 7)
    assert lines[0].startswith("progress:  50% 50s / 100s simulated, 7 tickets done")


def test_out_is_never_silently_overwritten(tiny: Path, tmp_path: Path, capsys):
    out = tmp_path / "out"
    assert main(["run", str(tiny), "--quiet", "--out", str(out)]) == 1
    first = (out / "results.json").read_text()
    capsys.readouterr()
    assert main(["run", str(tiny), "--quiet", "--out", str(out), "--seed", "6"]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--force" in err
    assert (out / "results.json").read_text() == first
    assert main(["run", str(tiny), "--quiet", "--out", str(out), "--seed", "6",
                 "--force"]) == 1
    assert "replacing the earlier run" in capsys.readouterr().out
    assert (out / "results.json").read_text() != first
    other = tmp_path / "notes"
    other.mkdir()
    (other / "mine.txt").write_text("keep me")
    assert main(["run", str(tiny), "--quiet", "--out", str(other)]) == 2
    assert "is not empty" in capsys.readouterr().err


def test_the_default_run_directory_is_replaced_and_says_so(tiny: Path, tmp_path: Path,
                                                           capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["run", str(tiny), "--quiet"]) == 1
    assert main(["run", str(tiny), "--quiet"]) == 1
    assert "replacing the earlier run in runs/tiny-seed5" in capsys.readouterr().out


def test_run_help_names_every_file_a_run_writes(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    for name in ("results.json", "records.jsonl", "scenario.yaml", "PNG plots", "report.html",
                 "--force", "--max-tickets"):
        assert name in text


def test_a_missing_agent_module_hints_at_the_working_directory(tiny: Path, tmp_path: Path,
                                                               capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(tiny), "--quiet", "--agent", "my_agent:route"])
    err = capsys.readouterr().err
    assert code == 2
    assert "No module named 'my_agent'" in err
    assert f"current directory, {tmp_path}" in err and "PYTHONPATH" in err


def test_an_import_error_inside_the_agent_module_gets_no_cwd_hint(tiny: Path, tmp_path: Path,
                                                                  capsys, monkeypatch):
    (tmp_path / "broken_agent.py").write_text("import not_installed_lib\n")
    monkeypatch.chdir(tmp_path)
    code = main(["run", str(tiny), "--quiet", "--agent", "broken_agent:route"])
    err = capsys.readouterr().err
    assert code == 2
    assert "not_installed_lib" in err and "PYTHONPATH" not in err


def test_sweep_off_a_terminal_prints_plain_progress_lines(tiny: Path, tmp_path: Path, capsys,
                                                          monkeypatch):
    monkeypatch.setattr(console_mod, "PLAIN_PROGRESS_SECONDS", 0.0)
    code = main(["sweep", str(tiny), "--seeds", "2", "--executor", "serial", "--no-history",
                 "--out", str(tmp_path / "sweep")])
    out = capsys.readouterr().out
    assert code == 0
    lines = [line for line in out.splitlines() if line.startswith("progress: ")]
    assert lines[-1].startswith("progress: 2/2 runs (")
    assert "━" not in out  # no bar drawn into the log

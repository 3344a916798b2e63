"""`simharness init`: a starter kit on which `simharness run` and `pytest` pass at once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from simharness.cli import main
from simharness.schema import SCHEMA_FILE, schema_text


def _env() -> dict[str, str]:
    """The environment of a user's shell: no variables of the test session."""
    return {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "COV_"))}


@pytest.mark.timeout(400)
def test_init_then_run_and_pytest_pass_in_a_fresh_folder(tmp_path: Path, capsys):
    kit = tmp_path / "kit"
    assert main(["init", str(kit)]) == 0
    out = capsys.readouterr().out
    assert f"next: cd {kit} && simharness run scenarios/smoke.yaml && python -m pytest" in out
    assert sorted(str(p.relative_to(kit)) for p in kit.rglob("*") if p.is_file()) == [
        "README.md", "pyproject.toml", SCHEMA_FILE, "scenarios/smoke.yaml",
        "support_agent.py", "tests/test_agent.py"]
    assert (kit / SCHEMA_FILE).read_text() == schema_text()
    scenario = (kit / "scenarios" / "smoke.yaml").read_text()
    assert scenario.startswith("# yaml-language-server: $schema=../scenario.schema.json\n")

    run = subprocess.run([sys.executable, "-m", "simharness.cli", "run", "scenarios/smoke.yaml",
                          "--quiet"], cwd=kit, env=_env(), capture_output=True, text=True,
                         timeout=300)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "FAIL" not in run.stdout and (kit / "runs" / "smoke-seed7" / "report.html").is_file()

    tests = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
                           cwd=kit, env=_env(), capture_output=True, text=True, timeout=300)
    assert tests.returncode == 0, tests.stdout + tests.stderr
    assert "4 passed" in tests.stdout  # three tests in tests/ and the scenario file


def test_init_refuses_a_folder_that_is_not_empty(tmp_path: Path, capsys):
    (tmp_path / "notes.txt").write_text("mine")
    assert main(["init", str(tmp_path)]) == 2
    assert "is not empty" in capsys.readouterr().err
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]

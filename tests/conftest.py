"""Shared fixtures: scenario builders and paths."""

from __future__ import annotations

import copy
import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

# Runs the suite makes (CLI tests, subprocesses) are recorded in a throwaway history, never
# in the developer's .simharness/runs.db nor in the repository.
_HISTORY = tempfile.TemporaryDirectory(prefix="simharness-test-history-")
os.environ["SIMHARNESS_HISTORY"] = str(Path(_HISTORY.name) / "runs.db")

FIXTURES = Path(__file__).parent / "fixtures"
REPO = Path(__file__).parent.parent
SHARED_DATA = REPO.parent / "shared" / "data"

BASE: dict[str, Any] = {
    "name": "test",
    "seed": 1,
    "duration": "10m",
    "agent": {"workers": 8},
    "traffic": [{"synthetic": {"rate": "1/s", "routes": ["billing", "technical", "account"]}}],
}


def make_scenario(**overrides: Any) -> dict[str, Any]:
    """A small scenario dict; keyword arguments replace top-level sections."""
    data = copy.deepcopy(BASE)
    data.update(overrides)
    return data


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """Say loudly, at the very end, which checks were skipped for want of a tool."""
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(report.longrepr[-1]) if isinstance(report.longrepr, tuple) else ""
        if "NOT CHECKED" in reason:
            terminalreporter.write_sep("!", reason.removeprefix("Skipped: "), yellow=True,
                                       bold=True)


@pytest.fixture
def scenario_dict() -> dict[str, Any]:
    return make_scenario()

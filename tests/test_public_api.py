"""The public API is what `simharness.__all__` says, and the README documents all of it."""

from __future__ import annotations

from conftest import REPO

import simharness


def test_every_public_name_exists_and_is_documented():
    readme = (REPO / "README.md").read_text()
    for name in simharness.__all__:
        assert hasattr(simharness, name), name
        if name != "__version__":
            assert f"`{name}`" in readme, f"README does not mention `{name}`"


def test_user_errors_share_one_base_class():
    for error in (simharness.ScenarioError, simharness.AgentError, simharness.SimulationError):
        assert issubclass(error, simharness.SimHarnessError)

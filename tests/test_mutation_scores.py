"""mutation/run.py's arithmetic: the sample it draws and the interval it reports."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest
from scipy.stats import binomtest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def run_py():
    spec = importlib.util.spec_from_file_location("mutation_run", REPO / "mutation" / "run.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["mutation_run"] = module
    spec.loader.exec_module(module)
    yield module
    del sys.modules["mutation_run"]


@pytest.mark.parametrize(("killed", "n"), [(8, 10), (240, 300), (300, 300), (0, 12), (1, 1)])
def test_the_interval_is_wilsons(run_py, killed, n):
    low, high = run_py.wilson(killed, n)
    reference = binomtest(killed, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert low == pytest.approx(reference.low, abs=1e-3)
    assert high == pytest.approx(reference.high, abs=1e-3)


def test_the_sample_is_seeded_and_drawn_from_the_names(run_py):
    names = [f"pkg.mod.x_f__mutmut_{i}" for i in range(1000)]
    one = run_py.draw(names, 300, seed=1)
    assert one == run_py.draw(list(reversed(names)), 300, seed=1)  # order does not matter
    assert len(set(one)) == 300 and set(one) <= set(names)
    assert one != run_py.draw(names, 300, seed=2)
    assert run_py.draw(names[:10], 300, seed=1) == sorted(names[:10])


def test_a_sampled_score_says_it_is_a_sample_with_its_interval(run_py):
    package = run_py.PACKAGES["fault_injectors"]
    statuses = {f"m{i}": "killed" for i in range(85)} | {f"s{i}": "survived" for i in range(15)}
    outcome = run_py.Outcome(package, "2026-01-01", statuses, {}, population=1000, seed=7)
    text = run_py.report([outcome])
    low, high = run_py.wilson(85, 100)
    assert f"85.0% (95% CI {low:.1%}–{high:.1%})" in text
    assert "1000 (sample of 100, seed 7)" in text
    assert "**A sample**" in text and "--sample 100 --seed 7" in text
